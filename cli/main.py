"""The ``batchline`` console script: one entry point for operators, each command group in its own module.

Errors an operator can fix (bad argument, infrastructure not running, port busy) are raised as
``CliError`` and printed as one line with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from shared.errors import CliError

app = typer.Typer(
    name="batchline",
    help="Event-driven session analysis through provider batch APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """Attach command groups (imports only; nothing connects until a command runs)."""
    from cli.asyncapi import register_asyncapi
    from cli.dashboard import register_dashboard
    from cli.emulator import register_emulator
    from cli.ops import register_ops
    from cli.redrive_cli import register_redrive
    from cli.services import register_services
    from cli.webhooks import register_webhooks

    try:  # the dev tools are not in the production image (Dockerfile): no `dev` group there
        from cli.dev import dev_app
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("devtools"):
            raise
    else:
        app.add_typer(dev_app, name="dev", help="Local Kafka + PostgreSQL without Docker.")
    register_ops(app)
    register_redrive(app)
    register_emulator(app)
    register_services(app)
    register_asyncapi(app)
    register_dashboard(app)
    register_webhooks(app)


def main() -> None:
    _register()
    try:
        app(standalone_mode=False)
    except CliError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors (bad argument, unknown option): one line
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {message}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
