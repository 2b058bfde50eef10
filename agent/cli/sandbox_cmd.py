"""`reelforge sandbox`: every provider's API faked on loopback, to demo the paid flow for free."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("sandbox")
    def sandbox_cmd(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
        latency: Annotated[
            float, typer.Option(help="Seconds each fake job takes (queued, then running).")
        ] = 3.0,
    ) -> None:
        """Serve protocol-faithful fakes of Veo, Kling, Runway, Luma, Pika (fal), OpenAI and
        ElevenLabs. Export the printed variables and `reelforge make` renders through it.
        Faults: POST /_sandbox/faults; counters: GET /_sandbox/stats."""
        import asyncio

        from tools.providers.sandbox.server import Sandbox

        sandbox = Sandbox(port=port, latency=latency)

        def ready() -> None:
            exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sandbox.env().items())
            typer.echo(f"export {exports}")
            typer.echo(
                f"sandbox on {sandbox.url} (latency {latency:g}s). Inject a fault, e.g.:\n"
                f"  curl -X POST {sandbox.url}/_sandbox/faults "
                """-d '{"provider": "runway", "kind": "rate_limit", "retry_after": 5}'\n"""
                f"  curl {sandbox.url}/_sandbox/stats\nCtrl-C stops it.",
                err=True,
            )

        try:
            asyncio.run(sandbox.serve(ready))
        except OSError as exc:
            typer.echo(f"error: cannot serve on 127.0.0.1:{port}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
