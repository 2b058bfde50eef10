"""Project store (SQLite embedded, or Postgres with REELFORGE_DATABASE_URL): projects, append-only revisions, takes and the spend ledger.

A project has one working copy (the production being worked on, saved as work happens so a crash
loses nothing) and committed revisions, which are never overwritten: every finished change is a new
row. Takes are job records
whose status moves forward (planned -> submitted -> succeeded/failed); spend entries are append-only.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from memory.models import (
    ChatSession,
    Production,
    Project,
    Revision,
    SpendEntry,
    Take,
    TakeStatus,
    utcnow,
)
from memory.redact import redact

# Ordered, versioned schema steps; each is applied once and recorded in `schema_version`. The
# tokens in braces are the only dialect differences in the DDL. Never edit a released step: add one.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    working TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    project_id TEXT NOT NULL REFERENCES projects(id),
    number INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    production TEXT NOT NULL,
    PRIMARY KEY (project_id, number)
);
CREATE TABLE IF NOT EXISTS takes (
    {takes_seq}id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    shot_id TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS takes_by_hash ON takes(input_hash);
CREATE INDEX IF NOT EXISTS takes_by_project ON takes(project_id, shot_id);
CREATE TABLE IF NOT EXISTS sessions (
    thread_id TEXT PRIMARY KEY,
    project_id TEXT,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_project ON sessions(project_id, updated_at);
CREATE TABLE IF NOT EXISTS runs (
    project_id TEXT PRIMARY KEY REFERENCES projects(id),
    body TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
    seq {serial},
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_usd {real} NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
""",
    ),
    (
        2,
        """
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    amount_usd {real} NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_by_project ON holds(project_id);
""",
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """Everything that differs between SQLite and Postgres, in one place."""

    name: str
    ddl: dict[str, str]
    row_order: str  # the column that keeps insertion order of takes

    def sql(self, query: str) -> str:
        return query if self.name == "sqlite" else query.replace("?", "%s")

    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of `key` in the JSON document held in `column`."""
        if self.name == "sqlite":
            return f"json_extract({column}, '$.{key}')"
        return f"(({column})::jsonb ->> '{key}')"


SQLITE = Dialect(
    "sqlite",
    {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "takes_seq": ""},
    "rowid",
)
POSTGRES = Dialect(
    "postgres",
    {"serial": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION", "takes_seq": "seq BIGSERIAL, "},
    "seq",
)


def is_database_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class ProjectNotFound(LookupError):
    pass


class StoreConnectionLost(RuntimeError):
    """The connection to Postgres dropped while a write or a transaction was on it. Reads are
    retried once on a new connection; a write is never replayed blindly, because whether the
    server applied it cannot be known. The next store call reconnects."""


def slugify(text: str, max_len: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].strip("-") or "untitled"


class OverBudget(Exception):
    """A hold was refused: it would take the project's spend past the cap."""


def _set_wal(conn: sqlite3.Connection) -> None:
    """WAL mode; switching a new file's journal takes an exclusive lock that SQLite's busy wait
    does not cover, so a second process opening the same new file at that moment retries."""
    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


class ProjectStore:
    """The project store on one SQLite file under the data dir (safe for one process with several
    threads), or on Postgres when given a `postgresql://` URL (safe for many processes)."""

    def __init__(self, target: Path | str) -> None:
        self._lock = threading.RLock()  # one statement or transaction on the connection at a time
        self._conn: Any
        if is_database_url(target):
            import psycopg  # only needed with REELFORGE_DATABASE_URL

            self.path: Path | None = None
            self.dialect = POSTGRES
            self._url = str(target)
            self._conn = psycopg.connect(self._url, autocommit=True)
        else:
            path = Path(target)
            self.path = path
            self.dialect = SQLITE
            path.parent.mkdir(parents=True, exist_ok=True)
            # several processes (two `make` runs, a bot and a CLI) may open it at once: wait for
            # each other's write transactions instead of failing fast
            self._conn = sqlite3.connect(
                path, timeout=30, check_same_thread=False, isolation_level=None
            )
            _set_wal(self._conn)
            self._conn.execute("PRAGMA foreign_keys=ON")
        self._in_tx = 0
        self.migrate()

    def close(self) -> None:
        self._conn.close()

    # -- the dialect seam: statements, transactions, locks ------------------------------------

    # Postgres only: the one connection may be dropped under us (a server restart, a failover,
    # pg_terminate_backend, an idle timeout). Outside a transaction the store reconnects: a read
    # is retried once, a write first checks the connection with an empty query (so it never runs
    # on a connection already known dead) and is never replayed after it was sent.

    def _dropped(self) -> bool:
        return self.dialect is POSTGRES and bool(self._conn.closed or self._conn.broken)

    def _reconnect(self) -> None:
        import psycopg

        try:
            self._conn.close()
        except psycopg.Error:
            pass
        self._conn = psycopg.connect(self._url, autocommit=True)

    def _ready(self) -> None:
        """Outside a transaction, before a write: a live connection, reconnecting if needed."""
        if self.dialect is not POSTGRES or self._in_tx:
            return
        import psycopg

        if not self._dropped():
            try:
                self._conn.execute("")  # what psycopg_pool's check_connection sends
                return
            except psycopg.OperationalError:
                if not self._dropped():
                    raise
        self._reconnect()

    def _retrying(self, run: Callable[[], T]) -> T:
        """`run` (idempotent: a read, or BEGIN), retried once on a new connection if the old
        one turns out to be dropped; inside a transaction never (the transaction is lost)."""
        if self.dialect is not POSTGRES or self._in_tx:
            return run()
        import psycopg

        if self._dropped():
            self._reconnect()
        try:
            return run()
        except psycopg.OperationalError:
            if not self._dropped():
                raise
        self._reconnect()
        return run()

    def _x(self, query: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._ready()
            self._written(
                lambda: self._conn.execute(self.dialect.sql(query), tuple(params)), "a write"
            )

    def _written(self, run: Callable[[], T], what: str) -> T:
        """A write outside a transaction: a dropped connection is a clear error, not a retry."""
        if self.dialect is not POSTGRES or self._in_tx:
            return run()
        import psycopg

        try:
            return run()
        except psycopg.OperationalError as exc:
            if not self._dropped():
                raise
            raise StoreConnectionLost(
                f"the connection to Postgres dropped during {what}; whether it was applied is "
                "unknown, so it is not repeated (the next store call reconnects)"
            ) from exc

    def _q(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._retrying(
                lambda: list(self._conn.execute(self.dialect.sql(query), tuple(params)).fetchall())
            )

    def _q1(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._q(query, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all. SQLite takes the database write
        lock up front (BEGIN IMMEDIATE); Postgres locks rows as they are asked for."""
        with self._lock:
            if self._in_tx:  # nested: part of the outer transaction
                yield
                return
            begin = "BEGIN IMMEDIATE" if self.dialect is SQLITE else "BEGIN"
            self._retrying(lambda: self._conn.execute(begin))  # nothing is sent before BEGIN
            self._in_tx += 1
            try:
                yield
            except BaseException as exc:
                self._in_tx -= 1
                if self._dropped():  # the server rolled it back when the connection went
                    raise StoreConnectionLost(
                        "the connection to Postgres dropped inside a transaction; none of it was "
                        "committed (the next store call reconnects)"
                    ) from exc
                self._conn.execute("ROLLBACK")
                raise
            self._in_tx -= 1
            self._written(lambda: self._conn.execute("COMMIT"), "a COMMIT")

    def on_connection(self, fn: Callable[[Any], object]) -> None:
        """Call `fn` with the store's own connection; inside `transaction()` whatever it runs is
        part of that transaction (team mode inserts a job queue's rows this way)."""
        with self._lock:
            fn(self._conn)

    def _lock_project(self, project_id: str) -> None:
        """Inside a transaction: hold the project's row until commit, so another process deciding
        on the same project waits (SQLite's BEGIN IMMEDIATE already holds the whole database)."""
        if self.dialect is POSTGRES:
            self._x("SELECT id FROM projects WHERE id = ? FOR UPDATE", (project_id,))

    def migrate(self) -> int:
        """Apply the schema steps this database has not had yet, once each; the new version."""
        with self.transaction():
            if self.dialect is POSTGRES:  # two processes starting together migrate one at a time
                self._x("SELECT pg_advisory_xact_lock(7261001)")
            self._x(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            row = self._q1("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            current = int(row[0]) if row else 0
            for version, ddl in MIGRATIONS:
                if version <= current:
                    continue
                for statement in ddl.format(**self.dialect.ddl).split(";"):
                    if statement.strip():
                        self._x(statement)
                self._x("INSERT INTO schema_version VALUES (?, ?)", (version, utcnow().isoformat()))
                current = version
        return current

    def schema_versions(self) -> list[int]:
        return [int(r[0]) for r in self._q("SELECT version FROM schema_version ORDER BY version")]

    # -- projects ---------------------------------------------------------------------------

    def create_project(self, title: str, production: Production) -> Project:
        """Create a project whose working copy is `production`; it has no revision yet."""
        slug = slugify(title)
        project = Project(id=f"{slug}-{secrets.token_hex(3)}", slug=slug, title=title)
        self._x(
            "INSERT INTO projects VALUES (?, ?, ?, ?, ?)",
            (
                project.id,
                project.slug,
                project.title,
                project.created_at.isoformat(),
                production.model_dump_json(),
            ),
        )
        return project

    def list_projects(self) -> list[tuple[Project, int]]:
        """Every project with its number of revisions, oldest first."""
        rows = self._q(
            "SELECT p.id, p.slug, p.title, p.created_at, COUNT(r.number) FROM projects p "
            "LEFT JOIN revisions r ON r.project_id = p.id GROUP BY p.id ORDER BY p.created_at"
        )
        return [(Project(id=r[0], slug=r[1], title=r[2], created_at=r[3]), int(r[4])) for r in rows]

    def working(self, project_id: str) -> Production:
        row = self._q1("SELECT working FROM projects WHERE id = ?", (project_id,))
        if row is None:
            raise ProjectNotFound(f"no project {project_id!r}")
        return Production.model_validate_json(row[0])

    def save_working(self, project_id: str, production: Production) -> None:
        self._x(
            "UPDATE projects SET working = ? WHERE id = ?",
            (production.model_dump_json(), project_id),
        )

    def get_project(self, ref: str) -> Project:
        """Find a project by id, unique id prefix, or slug (the newest with that slug)."""
        rows = self._q(
            "SELECT id, slug, title, created_at FROM projects WHERE id = ? OR slug = ? "
            "OR id LIKE ? ORDER BY (id = ?) DESC, created_at DESC",
            (ref, ref, ref.replace("%", "") + "%", ref),
        )
        if not rows:
            raise ProjectNotFound(f"no project {ref!r}; `reelforge projects` lists them")
        exact = [r for r in rows if r[0] == ref or r[1] == ref]
        if not exact and len(rows) > 1:
            ids = ", ".join(r[0] for r in rows[:5])
            raise ProjectNotFound(f"{ref!r} matches several projects: {ids}")
        r = (exact or rows)[0]
        return Project(id=r[0], slug=r[1], title=r[2], created_at=r[3])

    # -- revisions --------------------------------------------------------------------------

    def _insert_revision(
        self, project_id: str, number: int, note: str, prod: Production
    ) -> Revision:
        rev = Revision(project_id=project_id, number=number, note=note, production=prod)
        self._x(
            "INSERT INTO revisions VALUES (?, ?, ?, ?, ?)",
            (project_id, number, note, rev.created_at.isoformat(), prod.model_dump_json()),
        )
        return rev

    def commit(self, project_id: str, production: Production, note: str) -> Revision:
        """Record `production` as the project's next revision (and its working copy)."""
        with self.transaction():
            self._lock_project(project_id)
            row = self._q1(
                "SELECT COALESCE(MAX(number), 0) FROM revisions WHERE project_id = ?",
                (project_id,),
            )
            last = row[0] if row else 0
            self._x(
                "UPDATE projects SET working = ? WHERE id = ?",
                (production.model_dump_json(), project_id),
            )
            return self._insert_revision(project_id, int(last) + 1, note, production)

    def revisions(self, project_id: str) -> list[Revision]:
        rows = self._q(
            "SELECT number, note, created_at, production FROM revisions "
            "WHERE project_id = ? ORDER BY number",
            (project_id,),
        )
        return [
            Revision(
                project_id=project_id,
                number=r[0],
                note=r[1],
                created_at=r[2],
                production=Production.model_validate_json(r[3]),
            )
            for r in rows
        ]

    def latest(self, project_id: str) -> Revision | None:
        revs = self.revisions(project_id)
        return revs[-1] if revs else None

    # -- takes ------------------------------------------------------------------------------

    def save_submitted(self, take: Take, spend: SpendEntry | None) -> None:
        """A take's job id and its spend entry in one transaction: a crash can't leave a job
        recorded without its charge (or a charge without its job). The take's `unknown` hold,
        if it has one, becomes this `submit` entry (the same money, now known). A take is
        charged once: when its charge is already in the ledger (two workers reconciling the same
        take after one was thought dead), no second entry is written."""
        with self.transaction():
            self._lock_project(take.project_id)
            self.save_take(take)
            if spend is None or self._settle_hold(take.id, spend):
                return
            charged = self._q1(
                "SELECT 1 FROM spend WHERE kind = 'submit' AND "
                f"{self.dialect.json_text('body', 'take_id')} = ?",
                (take.id,),
            )
            if charged is None:
                self.record_spend(spend)

    def save_submitting(
        self,
        take: Take,
        hold: SpendEntry | None,
        cap_usd: float | None = None,
        *,
        also: Callable[[Any], object] | None = None,
    ) -> None:
        """A take about to be submitted and its price held as `unknown`, in one transaction:
        whatever happens to the answer, the ledger already counts the charge. With `cap_usd`,
        the hold is decided under the project's lock against everything the ledger and other
        processes' reservations hold, and `OverBudget` (nothing written) when it would pass.
        `also` is called with the store's connection inside that same transaction (a job
        queue's insert commits or rolls back with the take and its hold)."""
        with self.transaction():
            if hold is not None and cap_usd is not None:
                self._lock_project(take.project_id)
                committed = self.total_spend(take.project_id) + self.reserved(take.project_id)
                if committed + hold.amount_usd > cap_usd + 1e-9:
                    left = max(0.0, cap_usd - committed)
                    raise OverBudget(
                        f"${hold.amount_usd:.2f} is over the budget of ${cap_usd:.2f} "
                        f"(${left:.2f} left)"
                    )
            self.save_take(take)
            if hold is not None:
                self.record_spend(hold.model_copy(update={"kind": "unknown"}))
            if also is not None:
                self.on_connection(also)

    def hold(self, take_id: str) -> SpendEntry | None:
        """The take's outstanding `unknown` entry, if any."""
        row = self._q1(
            "SELECT body FROM spend WHERE kind = 'unknown' AND "
            f"{self.dialect.json_text('body', 'take_id')} = ?",
            (take_id,),
        )
        return SpendEntry.model_validate_json(row[0]) if row else None

    def refuse_hold(self, take: Take, note: str) -> None:
        """The provider surely did not accept the take: its hold stops counting (`refused`)."""
        with self.transaction():
            self.save_take(take)
            held = self.hold(take.id)
            if held is not None:
                refused = held.model_copy(update={"kind": "refused", "note": redact(note)[:500]})
                self._settle_hold(take.id, refused)

    def settle_hold(self, take_id: str, entry: SpendEntry) -> bool:
        """Turn the `unknown` hold keyed by `take_id` into `entry` (`submit` or `refused`)."""
        with self.transaction():
            return self._settle_hold(take_id, entry)

    def _settle_hold(self, take_id: str, entry: SpendEntry) -> bool:
        key = self.dialect.json_text("body", "take_id")
        with self._lock:
            cur = self._conn.execute(
                self.dialect.sql(
                    "UPDATE spend SET kind = ?, amount_usd = ?, body = ? WHERE seq = (SELECT seq "
                    f"FROM spend WHERE kind = 'unknown' AND {key} = ? LIMIT 1)"
                ),
                (entry.kind, entry.amount_usd, entry.model_dump_json(), take_id),
            )
            return bool(cur.rowcount > 0)

    def claim_take(self, take: Take, expected: TakeStatus) -> bool:
        """Save `take` only if its stored status is still `expected` (compare and set): of two
        workers picking up the same queued take, exactly one moves it on and submits it."""
        with self._lock:
            cur = self._conn.execute(
                self.dialect.sql(
                    "UPDATE takes SET status = ?, body = ?, updated_at = ? "
                    "WHERE id = ? AND status = ?"
                ),
                (
                    take.status.value,
                    take.model_dump_json(),
                    utcnow().isoformat(),
                    take.id,
                    expected.value,
                ),
            )
            return bool(cur.rowcount > 0)

    def save_take(self, take: Take) -> None:
        if take.error:  # no key a provider echoed back is ever stored
            take.error = redact(take.error)
        self._x(
            "INSERT INTO takes (id, project_id, shot_id, input_hash, status, body, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "status = excluded.status, body = excluded.body, updated_at = excluded.updated_at",
            (
                take.id,
                take.project_id,
                take.shot_id,
                take.input_hash,
                take.status.value,
                take.model_dump_json(),
                utcnow().isoformat(),
            ),
        )

    def takes(self, project_id: str, shot_id: str | None = None) -> list[Take]:
        order = self.dialect.row_order
        if shot_id is None:
            rows = self._q(
                f"SELECT body FROM takes WHERE project_id = ? ORDER BY {order}", (project_id,)
            )
        else:
            rows = self._q(
                f"SELECT body FROM takes WHERE project_id = ? AND shot_id = ? ORDER BY {order}",
                (project_id, shot_id),
            )
        return [Take.model_validate_json(r[0]) for r in rows]

    def take(self, take_id: str) -> Take:
        row = self._q1("SELECT body FROM takes WHERE id = ?", (take_id,))
        if row is None:
            raise KeyError(take_id)
        return Take.model_validate_json(row[0])

    def find_take_by_hash(self, input_hash: str) -> Take | None:
        """The newest successful take for these exact inputs, from any project."""
        order = self.dialect.row_order
        rows = self._q(
            f"SELECT body FROM takes WHERE input_hash = ? AND status = ? ORDER BY {order} DESC",
            (input_hash, TakeStatus.SUCCEEDED.value),
        )
        for (body,) in rows:
            take = Take.model_validate_json(body)
            if take.file is not None and take.file.exists():
                return take
        return None

    # -- spend ------------------------------------------------------------------------------

    def record_spend(self, entry: SpendEntry) -> None:
        self._x(
            "INSERT INTO spend (project_id, kind, amount_usd, body, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                entry.project_id,
                entry.kind,
                entry.amount_usd,
                entry.model_dump_json(),
                entry.created_at.isoformat(),
            ),
        )

    def spend(self, project_id: str) -> list[SpendEntry]:
        rows = self._q("SELECT body FROM spend WHERE project_id = ? ORDER BY seq", (project_id,))
        return [SpendEntry.model_validate_json(r[0]) for r in rows]

    def total_spend(self, project_id: str) -> float:
        row = self._q1(
            "SELECT COALESCE(SUM(CASE kind WHEN 'submit' THEN amount_usd "
            "WHEN 'unknown' THEN amount_usd "
            "WHEN 'refund' THEN -amount_usd ELSE 0 END), 0) FROM spend WHERE project_id = ?",
            (project_id,),
        )
        return float(row[0]) if row else 0.0

    # -- holds: money set aside for a submit in flight, decided under the project's lock -----

    def reserved(self, project_id: str) -> float:
        row = self._q1(
            "SELECT COALESCE(SUM(amount_usd), 0) FROM holds WHERE project_id = ?", (project_id,)
        )
        return float(row[0]) if row else 0.0

    def reserve(self, project_id: str, amount_usd: float, cap_usd: float | None) -> str:
        """Set `amount_usd` aside for a submit, or raise `OverBudget` if spend plus open holds
        plus it would pass `cap_usd`. The check and the insert happen under a lock on the
        project (row lock on Postgres), so two processes can never pass a cap together."""
        with self.transaction():
            self._lock_project(project_id)
            committed = self.total_spend(project_id) + self.reserved(project_id)
            if cap_usd is not None and committed + amount_usd > cap_usd + 1e-9:
                left = max(0.0, cap_usd - committed)
                raise OverBudget(
                    f"${amount_usd:.2f} is over the budget of ${cap_usd:.2f} (${left:.2f} left)"
                )
            hold_id = secrets.token_hex(8)
            self._x(
                "INSERT INTO holds VALUES (?, ?, ?, ?)",
                (hold_id, project_id, amount_usd, utcnow().isoformat()),
            )
        return hold_id

    def settle_reservation(self, hold_id: str, take: Take | None, spend: SpendEntry | None) -> None:
        """The submit went through: the hold becomes its take and spend entry, atomically."""
        with self.transaction():
            self._x("DELETE FROM holds WHERE id = ?", (hold_id,))
            if take is not None:
                self.save_take(take)
            if spend is not None:
                self.record_spend(spend)

    def release_reservation(self, hold_id: str) -> None:
        """The submit was refused: nothing was charged, the money is free again."""
        self._x("DELETE FROM holds WHERE id = ?", (hold_id,))

    # -- runs (what `reelforge make` was asked, so `reelforge resume` can finish it) ----------

    def save_run(self, project_id: str, body: str, *, finished: bool = False) -> None:
        """Record a pipeline run's parameters (JSON, owned by the caller) and whether it ended."""
        self._x(
            "INSERT INTO runs VALUES (?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET "
            "body = excluded.body, finished = excluded.finished, updated_at = excluded.updated_at",
            (project_id, body, int(finished), utcnow().isoformat()),
        )

    def run(self, project_id: str) -> tuple[str, bool] | None:
        row = self._q1("SELECT body, finished FROM runs WHERE project_id = ?", (project_id,))
        return None if row is None else (str(row[0]), bool(row[1]))

    def unfinished_projects(self) -> list[str]:
        """Projects with a run that did not finish or a take still in flight, newest first."""
        rows = self._q(
            "SELECT project_id, MAX(t) FROM ("
            "SELECT project_id, updated_at AS t FROM runs WHERE finished = 0 UNION ALL "
            "SELECT project_id, updated_at AS t FROM takes WHERE status IN (?, ?, ?, ?)"
            ") AS u GROUP BY project_id ORDER BY MAX(t) DESC",
            (
                TakeStatus.SUBMITTING.value,
                TakeStatus.SUBMITTED.value,
                TakeStatus.RUNNING.value,
                TakeStatus.UNKNOWN.value,
            ),
        )
        return [str(r[0]) for r in rows]

    # -- conversation sessions --------------------------------------------------------------

    def session(self, thread_id: str) -> ChatSession:
        """The thread's session, or a new empty one (not saved until `save_session`)."""
        row = self._q1("SELECT body FROM sessions WHERE thread_id = ?", (thread_id,))
        if row is None:
            return ChatSession(thread_id=thread_id)
        return ChatSession.model_validate_json(row[0])

    def save_session(self, session: ChatSession) -> None:
        session.updated_at = utcnow()
        self._x(
            "INSERT INTO sessions VALUES (?, ?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET "
            "project_id = excluded.project_id, body = excluded.body, "
            "updated_at = excluded.updated_at",
            (
                session.thread_id,
                session.project_id,
                session.model_dump_json(),
                session.updated_at.isoformat(),
            ),
        )

    def thread_for_project(self, project_id: str) -> str | None:
        """The most recently active conversation thread working on `project_id`."""
        row = self._q1(
            "SELECT thread_id FROM sessions WHERE project_id = ? ORDER BY updated_at DESC",
            (project_id,),
        )
        return None if row is None else str(row[0])
