"""`python -m autograder.nbgrader_app ARGS`: the `nbgrader` command, stamping new gradebooks without a
subprocess (see :mod:`autograder.gradebook_version`); everything else is nbgrader's own app."""
from .gradebook_version import install

if __name__ == "__main__":
    install()
    from nbgrader.apps.nbgraderapp import main

    main()
