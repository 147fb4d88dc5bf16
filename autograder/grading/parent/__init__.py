"""The grading parent: the command, the course it grades, the executors that run workers, and the one writer
of the course directory and gradebook.  It trusts its workers' results as data only (see docs/architecture.md)
and imports nothing of the kernel side."""
