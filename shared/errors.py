"""Errors shared across batchline's modules that are not tied to one adapter."""


class CliError(Exception):
    """A problem the operator can fix; the CLI prints it as one line and exits with status 2."""
