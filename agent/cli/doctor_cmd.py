"""`reelforge doctor`: is every configured server reachable, and what is not configured?

One line per check: `ok`, `--` (not configured: fine, says how to turn it on) or `FAIL` (configured
but unreachable or broken). Exit 1 if anything FAILs, so a deployment can run it as a health check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import typer

if TYPE_CHECKING:
    from tools.settings import Settings

Status = Literal["ok", "--", "FAIL"]
TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def _one_line(exc: BaseException) -> str:
    from memory.redact import redact

    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)[:200]


def check_database(settings: Settings) -> Check:
    if settings.database_url is None:
        return Check(
            "ok",
            "database",
            f"SQLite at {settings.db_path} (embedded; set REELFORGE_DATABASE_URL for team scale)",
        )
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    url = settings.database_url.get_secret_value()
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        return Check("FAIL", "database", f"REELFORGE_DATABASE_URL is not a valid URL: {exc}")
    where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    try:
        with psycopg.connect(url, connect_timeout=int(TIMEOUT_S)) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            version = row[0] if row else "?"
            has = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
            schema = "no schema yet (created on first use)"
            if has and has[0]:
                got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                schema = f"schema v{got[0] if got else '?'}"
    except psycopg.Error as exc:
        return Check("FAIL", "database", f"cannot reach Postgres at {where}: {_one_line(exc)}")
    return Check("ok", "database", f"Postgres {version} at {where}, {schema}")


def check_chroma(settings: Settings) -> Check:
    if settings.chroma_url is None:
        return Check(
            "ok",
            "chroma",
            "embedded in the data dir (set REELFORGE_CHROMA_URL when several processes share it)",
        )
    import httpx

    url = settings.chroma_url
    parts = urlsplit(url if "://" in url else f"http://{url}")
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 8000}"
    try:
        resp = httpx.get(f"{base}/api/v2/heartbeat", timeout=TIMEOUT_S)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        return Check("FAIL", "chroma", f"cannot reach Chroma at {base}: {_one_line(exc)}")
    return Check("ok", "chroma", f"Chroma server at {base}")


def check_media(settings: Settings) -> Check:
    """Renders, takes and exports go to the media folder; in a team every worker and the bot
    mount the same one, so it must exist (or be creatable) and be writable from here."""
    import tempfile

    media = settings.media_dir
    try:
        media.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=media, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("FAIL", "media", f"cannot write to {media}: {_one_line(exc)}")
    return Check("ok", "media", f"{media} is writable")


def check_queue(settings: Settings) -> Check:
    """Workers need the job queue's tables in the database; guarded so it says something useful
    whether or not the queue (procrastinate) is installed."""
    import importlib.util

    if settings.database_url is None:
        return Check(
            "--", "queue", "jobs run in-process (REELFORGE_DATABASE_URL puts them on workers)"
        )
    if importlib.util.find_spec("procrastinate") is None:
        return Check("--", "queue", "jobs run in-process (procrastinate is not installed)")
    import psycopg

    try:
        with psycopg.connect(
            settings.database_url.get_secret_value(), connect_timeout=int(TIMEOUT_S)
        ) as conn:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    except psycopg.Error as exc:
        return Check("FAIL", "queue", f"cannot read the queue schema: {_one_line(exc)}")
    if not (row and row[0]):
        return Check(
            "--",
            "queue",
            "no job queue schema in the database yet: run `reelforge worker` once "
            "(it applies the schema)",
        )
    return Check("ok", "queue", "job queue schema present")


def check_ffmpeg(settings: Settings) -> Check:
    from tools.post.runner import FFmpegNotFound, ffmpeg_exe

    try:
        return Check("ok", "ffmpeg", ffmpeg_exe(settings.ffmpeg))
    except FFmpegNotFound as exc:
        return Check("FAIL", "ffmpeg", _one_line(exc))


def check_providers(settings: Settings) -> list[Check]:
    from tools.providers.registry import Registry, default_profile, provider_ids

    registry = Registry(settings)
    checks = []
    for pid in provider_ids():
        reason = registry.unavailable_reason(pid)
        keyed = "key present" if default_profile(pid).key_env else "needs no key"
        checks.append(Check("--", pid, reason) if reason else Check("ok", pid, keyed))
    for name, env, what in (
        ("openai", "OPENAI_API_KEY", "the chat model and OpenAI images"),
        ("elevenlabs", "ELEVENLABS_API_KEY", "ElevenLabs voice-over"),
    ):
        if settings.env_present(env):
            checks.append(Check("ok", name, "key present"))
        else:
            checks.append(Check("--", name, f"not configured (set {env} for {what})"))
    return checks


def diagnose(settings: Settings) -> list[Check]:
    database = check_database(settings)
    queue = (
        check_queue(settings)
        if database.status != "FAIL"
        else Check("--", "queue", "not checked: the database is unreachable")
    )
    return [
        database,
        check_chroma(settings),
        queue,
        check_media(settings),
        check_ffmpeg(settings),
        *check_providers(settings),
    ]


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd() -> None:
        """Check the configured servers (database, Chroma, job queue), the media folder, ffmpeg
        and provider keys; one line each. Exit 1 if something configured is unreachable."""
        from tools.settings import Settings

        checks = diagnose(Settings())
        for check in checks:
            typer.echo(check.line())
        if any(c.status == "FAIL" for c in checks):
            raise typer.Exit(1)
