"""``batchline webhooks``: receive the provider's batch webhooks and wake the poller for their batch.

Options override ``BATCHLINE_WEBHOOK_HOST`` / ``BATCHLINE_WEBHOOK_PORT``; the signing secret comes from
``BATCHLINE_WEBHOOK_SECRET`` or ``BATCHLINE_WEBHOOK_SECRET_FILE`` only (never a command-line argument,
which every user of the machine can read in the process list).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cli.common import load_settings
from shared.errors import CliError


def register_webhooks(app: typer.Typer) -> None:
    """Attach the ``webhooks`` command to the root CLI."""

    @app.command("webhooks")
    def webhooks(
        *,
        host: Annotated[str | None, typer.Option(help="Interface (default: setting webhook_host).")] = None,
        port: Annotated[
            int | None, typer.Option(min=0, max=65535, help="Port (default: setting webhook_port).")
        ] = None,
    ) -> None:
        """Receive OpenAI batch webhooks (Standard Webhooks signatures) until SIGTERM/SIGINT."""
        from services.poller.webhook_server import serve
        from shared.bootstrap import configure_logging
        from shared.runtime import install_signal_handlers
        from shared.webhooks import BadSecret

        settings = load_settings()
        configure_logging(settings, "webhooks")

        async def main() -> None:
            stop = asyncio.Event()
            install_signal_handlers(stop)
            await serve(settings, stop, host=host, port=port)

        try:
            asyncio.run(main())
        except BadSecret as exc:
            raise CliError(f"webhooks: {exc}") from None
        except OSError as exc:  # port busy, permission denied
            raise CliError(f"webhooks: cannot serve: {exc.strerror or exc}") from None
