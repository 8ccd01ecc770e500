"""``batchline emulator``: serve the emulated OpenAI Batch API on a local port.

Options override ``BATCHLINE_EMULATOR_*`` environment variables, which override the defaults;
the port defaults to the project setting ``emulator_port`` so the services' default
``openai_base_url`` points at it without configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shared.errors import CliError


def register_emulator(app: typer.Typer) -> None:
    """Attach the ``emulator`` command to the root CLI."""

    @app.command("emulator")
    def emulator(
        *,
        port: Annotated[int | None, typer.Option(help="Port (default: setting emulator_port).")] = None,
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        state_dir: Annotated[
            Path | None, typer.Option(help="Persist files and batches here (default: memory only).")
        ] = None,
        stage_seconds: Annotated[
            float | None, typer.Option(help="Seconds per lifecycle stage (validating, in_progress, ...).")
        ] = None,
        window_seconds: Annotated[float | None, typer.Option(help="Completion window (expires_at).")] = None,
        api_key: Annotated[
            str | None, typer.Option(help="Require this bearer key (default: any non-empty key).")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of every injected fault.")] = None,
        line_error_rate: Annotated[float | None, typer.Option(help="Share of lines answered 500.")] = None,
        malformed_rate: Annotated[float | None, typer.Option(help="Share of lines with bad content.")] = None,
        http_429_rate: Annotated[float | None, typer.Option(help="Share of requests answered 429.")] = None,
        http_500_rate: Annotated[float | None, typer.Option(help="Share of requests answered 500.")] = None,
        retry_after_seconds: Annotated[float | None, typer.Option(help="Retry-After sent with 429.")] = None,
        latency_ms: Annotated[int | None, typer.Option(help="Added to every request.")] = None,
        expire_batches: Annotated[int | None, typer.Option(help="The next N batches expire.")] = None,
        token_limit_batches: Annotated[
            int | None, typer.Option(help="The next N batches fail with token_limit_exceeded.")
        ] = None,
        validation_fail_batches: Annotated[
            int | None, typer.Option(help="The next N batches fail validation.")
        ] = None,
        enqueued_token_limit: Annotated[
            int | None, typer.Option(help="Enqueued-token limit of every model (token_limit_exceeded).")
        ] = None,
        output_file_ttl_seconds: Annotated[
            float | None, typer.Option(help="Output/error files expire this long after their batch.")
        ] = None,
        max_files: Annotated[int | None, typer.Option(help="Files the organisation may store.")] = None,
        max_storage_bytes: Annotated[
            int | None, typer.Option(help="Bytes the organisation may store.")
        ] = None,
        anthropic_queue_limit: Annotated[
            int | None, typer.Option(help="Anthropic: requests per model in the processing queue (429).")
        ] = None,
        anthropic_results_ttl_seconds: Annotated[
            float | None, typer.Option(help="Anthropic: results are gone (404) this long after creation.")
        ] = None,
        overloaded_rate: Annotated[
            float | None, typer.Option(help="Anthropic: share of requests answered 529 overloaded_error.")
        ] = None,
        answer_mode: Annotated[
            str | None,
            typer.Option(help="'model' (stand-in model, default) or 'fast' (one fixed answer; benchmarks)."),
        ] = None,
        webhook_url: Annotated[
            str | None, typer.Option(help="POST signed batch.* webhooks here when a batch ends.")
        ] = None,
        webhook_secret: Annotated[
            str | None, typer.Option(help="whsec_ secret the webhooks are signed with.")
        ] = None,
    ) -> None:
        """Serve the OpenAI Files + Batch API emulator (admin API under /_emulator).

        Per-model limits, extra keys and other lists: BATCHLINE_EMULATOR_* variables (JSON).
        """
        try:  # the production image installs neither the emulator nor its web stack
            import uvicorn

            from emulator.app import create_app
            from emulator.config import EmulatorConfig
        except ModuleNotFoundError as exc:
            raise CliError(
                f"the emulator is not installed here ({exc.name} missing): pip install 'batchline[emulator]'"
            ) from None
        from pydantic import ValidationError

        from shared.settings import Settings

        overrides: dict[str, Any] = {
            "host": host,
            "port": port if port is not None else Settings().emulator_port,
            "state_dir": state_dir,
            "stage_s": stage_seconds,
            "window_s": window_seconds,
            "api_key": api_key,
            "seed": seed,
            "line_error_rate": line_error_rate,
            "malformed_rate": malformed_rate,
            "http_429_rate": http_429_rate,
            "http_500_rate": http_500_rate,
            "retry_after_s": retry_after_seconds,
            "latency_ms": latency_ms,
            "expire_batches": expire_batches,
            "token_limit_batches": token_limit_batches,
            "validation_fail_batches": validation_fail_batches,
            "enqueued_token_limit": enqueued_token_limit,
            "output_file_ttl_s": output_file_ttl_seconds,
            "max_files": max_files,
            "max_storage_bytes": max_storage_bytes,
            "anthropic_queue_limit": anthropic_queue_limit,
            "anthropic_results_ttl_s": anthropic_results_ttl_seconds,
            "overloaded_rate": overloaded_rate,
            "answer_mode": answer_mode,
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
        }
        try:
            config = EmulatorConfig(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise CliError(
                f"invalid emulator option: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
            ) from None
        typer.echo(f"emulator listening on http://{config.host}:{config.port}/v1 (admin: /_emulator/stats)")
        try:
            import asyncio

            from emulator.core import Emulator
            from emulator.webhooks import serve_with_webhooks

            emu = Emulator(config)
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(config, emulator=emu), host=config.host, port=config.port, log_level="warning"
                )
            )
            asyncio.run(serve_with_webhooks(server, emu))
        except OSError as exc:  # port busy, permission denied
            raise CliError(f"cannot serve on {config.host}:{config.port}: {exc.strerror}") from None
