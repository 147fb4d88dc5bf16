"""The parent's one error type: the harness itself cannot run (or must stop), with a message for the instructor."""


class GradingError(RuntimeError):
    """The harness itself cannot run (bad course directory, missing source, broken config, a damaged, locked or
    full gradebook): the message names the file and says what to do."""
