"""`reelforge slack`: the Slack bot, in Socket Mode (default) or HTTP mode (`--http`)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("slack")
    def slack_cmd(
        http: Annotated[
            bool, typer.Option("--http", help="Serve Slack's HTTP requests instead of Socket Mode.")
        ] = False,
        port: Annotated[int, typer.Option(help="Port for --http (path /slack/events).")] = 3000,
    ) -> None:
        """Run the Slack bot: each thread is one conversation and one production. Needs
        SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (--http)."""
        from agent.cli.common import fail
        from agent.cli.common import services as _services

        services = _services()
        settings = services.settings
        needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
        if http:
            needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
        else:
            needed["SLACK_APP_TOKEN"] = settings.slack_app_token
        for name, value in needed.items():
            if value is None or not value.get_secret_value().strip():
                services.store.close()
                mode = "HTTP mode" if http else "Socket Mode"
                fail(f"{name} is not set; {mode} needs it (see README, 'Slack set-up')")

        from agent.slack.allow import AllowList
        from agent.slack.app import build_app, install_redaction, make_client
        from agent.slack.state import SlackState
        from agent.slack.worker import SlackWorker

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        secrets = [v.get_secret_value() for v in needed.values() if v is not None]
        install_redaction(secrets)
        assert settings.slack_bot_token is not None
        client = make_client(settings.slack_bot_token.get_secret_value())
        state = SlackState(settings.data_dir / "slack.db")
        worker = SlackWorker(settings, client, services=services).start()
        signing = settings.slack_signing_secret
        bolt = build_app(
            client,
            worker,
            AllowList.from_settings(settings),
            state,
            signing_secret=signing.get_secret_value() if http and signing else None,
        )
        try:
            if http:
                typer.echo(f"reelforge slack: HTTP mode on :{port}/slack/events", err=True)
                bolt.start(port=port)
            else:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                assert settings.slack_app_token is not None
                typer.echo("reelforge slack: Socket Mode", err=True)
                handler = SocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
                handler.start()  # type: ignore[no-untyped-call]
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()
            state.close()
            import asyncio

            asyncio.run(services.aclose())
