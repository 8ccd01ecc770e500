"""The ``batchline`` command line: one typer app built from the service registry and tool groups."""
