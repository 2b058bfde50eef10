"""SQLite project store: projects, append-only revisions, takes and the spend ledger.

A project has one working copy (the production being worked on, saved as work happens so a crash
loses nothing) and committed revisions, which are never overwritten: every finished change is a new
row. Takes are job records
whose status moves forward (planned -> submitted -> succeeded/failed); spend entries are append-only.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

SCHEMA = """
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
    id TEXT PRIMARY KEY,
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
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_usd REAL NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


class ProjectNotFound(LookupError):
    pass


def slugify(text: str, max_len: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].strip("-") or "untitled"


class ProjectStore:
    """One SQLite file under the data dir. Safe for one process with several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- projects ---------------------------------------------------------------------------

    def create_project(self, title: str, production: Production) -> Project:
        """Create a project whose working copy is `production`; it has no revision yet."""
        slug = slugify(title)
        project = Project(id=f"{slug}-{secrets.token_hex(3)}", slug=slug, title=title)
        self._db.execute(
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
        rows = self._db.execute(
            "SELECT p.id, p.slug, p.title, p.created_at, COUNT(r.number) FROM projects p "
            "LEFT JOIN revisions r ON r.project_id = p.id GROUP BY p.id ORDER BY p.created_at"
        ).fetchall()
        return [(Project(id=r[0], slug=r[1], title=r[2], created_at=r[3]), int(r[4])) for r in rows]

    def working(self, project_id: str) -> Production:
        row = self._db.execute(
            "SELECT working FROM projects WHERE id = ?", (project_id,)
        ).fetchone()
        if row is None:
            raise ProjectNotFound(f"no project {project_id!r}")
        return Production.model_validate_json(row[0])

    def save_working(self, project_id: str, production: Production) -> None:
        self._db.execute(
            "UPDATE projects SET working = ? WHERE id = ?",
            (production.model_dump_json(), project_id),
        )

    def get_project(self, ref: str) -> Project:
        """Find a project by id, unique id prefix, or slug (the newest with that slug)."""
        rows = self._db.execute(
            "SELECT id, slug, title, created_at FROM projects WHERE id = ? OR slug = ? "
            "OR id LIKE ? ORDER BY (id = ?) DESC, created_at DESC",
            (ref, ref, ref.replace("%", "") + "%", ref),
        ).fetchall()
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
        self, db: sqlite3.Connection, project_id: str, number: int, note: str, prod: Production
    ) -> Revision:
        rev = Revision(project_id=project_id, number=number, note=note, production=prod)
        db.execute(
            "INSERT INTO revisions VALUES (?, ?, ?, ?, ?)",
            (project_id, number, note, rev.created_at.isoformat(), prod.model_dump_json()),
        )
        return rev

    def commit(self, project_id: str, production: Production, note: str) -> Revision:
        """Record `production` as the project's next revision (and its working copy)."""
        with self.transaction() as db:
            (last,) = db.execute(
                "SELECT COALESCE(MAX(number), 0) FROM revisions WHERE project_id = ?",
                (project_id,),
            ).fetchone()
            db.execute(
                "UPDATE projects SET working = ? WHERE id = ?",
                (production.model_dump_json(), project_id),
            )
            return self._insert_revision(db, project_id, int(last) + 1, note, production)

    def revisions(self, project_id: str) -> list[Revision]:
        rows = self._db.execute(
            "SELECT number, note, created_at, production FROM revisions "
            "WHERE project_id = ? ORDER BY number",
            (project_id,),
        ).fetchall()
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
        if it has one, becomes this `submit` entry (the same money, now known)."""
        with self.transaction():
            self.save_take(take)
            if spend is not None and not self._settle_hold(take.id, spend):
                self.record_spend(spend)

    def save_submitting(self, take: Take, hold: SpendEntry | None) -> None:
        """A take about to be submitted and its price held as `unknown`, in one transaction:
        whatever happens to the answer, the ledger already counts the charge."""
        with self.transaction():
            self.save_take(take)
            if hold is not None:
                self.record_spend(hold.model_copy(update={"kind": "unknown"}))

    def hold(self, take_id: str) -> SpendEntry | None:
        """The take's outstanding `unknown` entry, if any."""
        row = self._db.execute(
            "SELECT body FROM spend WHERE kind = 'unknown' AND json_extract(body, '$.take_id') = ?",
            (take_id,),
        ).fetchone()
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
        cur = self._db.execute(
            "UPDATE spend SET kind = ?, amount_usd = ?, body = ? WHERE seq = (SELECT seq FROM "
            "spend WHERE kind = 'unknown' AND json_extract(body, '$.take_id') = ? LIMIT 1)",
            (entry.kind, entry.amount_usd, entry.model_dump_json(), take_id),
        )
        return cur.rowcount > 0

    def save_take(self, take: Take) -> None:
        if take.error:  # no key a provider echoed back is ever stored
            take.error = redact(take.error)
        self._db.execute(
            "INSERT INTO takes VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
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
        if shot_id is None:
            rows = self._db.execute(
                "SELECT body FROM takes WHERE project_id = ? ORDER BY rowid", (project_id,)
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT body FROM takes WHERE project_id = ? AND shot_id = ? ORDER BY rowid",
                (project_id, shot_id),
            ).fetchall()
        return [Take.model_validate_json(r[0]) for r in rows]

    def take(self, take_id: str) -> Take:
        row = self._db.execute("SELECT body FROM takes WHERE id = ?", (take_id,)).fetchone()
        if row is None:
            raise KeyError(take_id)
        return Take.model_validate_json(row[0])

    def find_take_by_hash(self, input_hash: str) -> Take | None:
        """The newest successful take for these exact inputs, from any project."""
        rows = self._db.execute(
            "SELECT body FROM takes WHERE input_hash = ? AND status = ? ORDER BY rowid DESC",
            (input_hash, TakeStatus.SUCCEEDED.value),
        ).fetchall()
        for (body,) in rows:
            take = Take.model_validate_json(body)
            if take.file is not None and take.file.exists():
                return take
        return None

    # -- spend ------------------------------------------------------------------------------

    def record_spend(self, entry: SpendEntry) -> None:
        self._db.execute(
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
        rows = self._db.execute(
            "SELECT body FROM spend WHERE project_id = ? ORDER BY seq", (project_id,)
        ).fetchall()
        return [SpendEntry.model_validate_json(r[0]) for r in rows]

    def total_spend(self, project_id: str) -> float:
        (total,) = self._db.execute(
            "SELECT COALESCE(SUM(CASE kind WHEN 'submit' THEN amount_usd "
            "WHEN 'unknown' THEN amount_usd "
            "WHEN 'refund' THEN -amount_usd ELSE 0 END), 0) FROM spend WHERE project_id = ?",
            (project_id,),
        ).fetchone()
        return float(total)

    # -- runs (what `reelforge make` was asked, so `reelforge resume` can finish it) ----------

    def save_run(self, project_id: str, body: str, *, finished: bool = False) -> None:
        """Record a pipeline run's parameters (JSON, owned by the caller) and whether it ended."""
        self._db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET "
            "body = excluded.body, finished = excluded.finished, updated_at = excluded.updated_at",
            (project_id, body, int(finished), utcnow().isoformat()),
        )

    def run(self, project_id: str) -> tuple[str, bool] | None:
        row = self._db.execute(
            "SELECT body, finished FROM runs WHERE project_id = ?", (project_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), bool(row[1]))

    def unfinished_projects(self) -> list[str]:
        """Projects with a run that did not finish or a take still in flight, newest first."""
        rows = self._db.execute(
            "SELECT project_id, MAX(t) FROM ("
            "SELECT project_id, updated_at AS t FROM runs WHERE finished = 0 UNION ALL "
            "SELECT project_id, updated_at AS t FROM takes WHERE status IN (?, ?, ?, ?)"
            ") GROUP BY project_id ORDER BY MAX(t) DESC",
            (
                TakeStatus.SUBMITTING.value,
                TakeStatus.SUBMITTED.value,
                TakeStatus.RUNNING.value,
                TakeStatus.UNKNOWN.value,
            ),
        ).fetchall()
        return [str(r[0]) for r in rows]

    # -- conversation sessions --------------------------------------------------------------

    def session(self, thread_id: str) -> ChatSession:
        """The thread's session, or a new empty one (not saved until `save_session`)."""
        row = self._db.execute(
            "SELECT body FROM sessions WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        if row is None:
            return ChatSession(thread_id=thread_id)
        return ChatSession.model_validate_json(row[0])

    def save_session(self, session: ChatSession) -> None:
        session.updated_at = utcnow()
        self._db.execute(
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
        row = self._db.execute(
            "SELECT thread_id FROM sessions WHERE project_id = ? ORDER BY updated_at DESC",
            (project_id,),
        ).fetchone()
        return None if row is None else str(row[0])
