from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory.briefs import parse_brief
from memory.models import Grade, Production, SpendEntry, Take, TakeStatus
from memory.store import SCHEMA_VERSION, OverBudget, ProjectNotFound, ProjectStore

BRIEF = parse_brief(
    {
        "title": "Neon Rain!",
        "story": "s",
        "mood": "m",
        "style": "s",
        "duration": 4,
        "formats": ["16:9"],
        "audience": "a",
    }
)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Every test here runs on the embedded SQLite file and on a real Postgres database."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite"
    from tests.pg.server import server

    return server().create_database(f"store_{tmp_path.name}".lower().replace("-", "_"))


@pytest.fixture
def open_store(target: Path | str) -> Iterator[Callable[[], ProjectStore]]:
    """Opens the store on `target` (again: a reopened store must see the same rows); every
    store opened is closed after the test."""
    opened: list[ProjectStore] = []

    def open_() -> ProjectStore:
        opened.append(ProjectStore(target))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def test_revisions_are_appended_never_overwritten(open_store: Callable[[], ProjectStore]) -> None:
    store = open_store()
    project = store.create_project("Neon Rain!", Production(brief=BRIEF))
    assert project.slug == "neon-rain" and project.id.startswith("neon-rain-")
    assert store.revisions(project.id) == [] and store.latest(project.id) is None
    first = store.commit(project.id, Production(brief=BRIEF), "made")
    moodier = Production(brief=BRIEF, grade=Grade(name="moodier", brightness=-0.1))
    second = store.commit(project.id, moodier, "moodier")
    assert (first.number, second.number) == (1, 2)
    revs = open_store().revisions(project.id)  # reopened
    assert [r.note for r in revs] == ["made", "moodier"]
    assert revs[0].production.grade.name == "neutral"
    assert revs[1].production.grade.brightness == -0.1
    assert store.working(project.id).grade.name == "moodier"


def test_projects_are_found_by_id_prefix_or_slug(open_store: Callable[[], ProjectStore]) -> None:
    store = open_store()
    a = store.create_project("Neon Rain!", Production(brief=BRIEF))
    b = store.create_project("Neon Rain!", Production(brief=BRIEF))
    assert store.get_project(a.id) == a
    assert store.get_project("neon-rain").id in (a.id, b.id)
    with pytest.raises(ProjectNotFound, match="matches several"):
        store.get_project("neon-r")
    with pytest.raises(ProjectNotFound, match="no project"):
        store.get_project("nothing")
    assert [p.id for p, n in store.list_projects()] == [a.id, b.id]


def test_takes_and_spend_ledger(open_store: Callable[[], ProjectStore], tmp_path: Path) -> None:
    store = open_store()
    project = store.create_project("x", Production(brief=BRIEF))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    take = Take(
        id="t1", project_id=project.id, shot_id="1.1", provider="kling", seed=1, input_hash="h1"
    )
    store.save_take(take)
    assert store.find_take_by_hash("h1") is None  # not succeeded yet
    take.status, take.file = TakeStatus.SUCCEEDED, clip
    store.save_take(take)
    assert store.take("t1").status is TakeStatus.SUCCEEDED
    assert store.find_take_by_hash("h1") == take
    clip.unlink()
    assert store.find_take_by_hash("h1") is None  # a take whose file is gone is not reusable
    store.record_spend(SpendEntry(project_id=project.id, kind="estimate", amount_usd=9))
    store.record_spend(SpendEntry(project_id=project.id, kind="submit", amount_usd=1.5))
    store.record_spend(SpendEntry(project_id=project.id, kind="refund", amount_usd=0.5))
    assert store.total_spend(project.id) == pytest.approx(1.0)
    assert [e.kind for e in store.spend(project.id)] == ["estimate", "submit", "refund"]


def test_a_submitted_take_and_its_charge_are_written_together(
    open_store: Callable[[], ProjectStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between writing the job id and writing its charge would leave money spent that
    the ledger (and the budget cap) never saw: the two are one transaction."""
    store = open_store()
    p = store.create_project("x", Production(brief=BRIEF)).id
    take = Take(
        id="t1",
        project_id=p,
        shot_id="1.1",
        provider="kling",
        seed=1,
        input_hash="h",
        job_id="job-1",
        status=TakeStatus.SUBMITTED,
        cost_usd=0.5,
    )
    entry = SpendEntry(project_id=p, kind="submit", amount_usd=0.5, job_id="job-1", take_id="t1")

    def crash(_entry: SpendEntry) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "record_spend", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save_submitted(take, entry)
    assert store.takes(p) == [] and store.spend(p) == []
    monkeypatch.undo()
    store.save_submitted(take, entry)
    assert [t.job_id for t in store.takes(p)] == ["job-1"]
    assert store.total_spend(p) == 0.5


def test_an_unknown_submit_is_held_then_settled_or_refused(
    open_store: Callable[[], ProjectStore],
) -> None:
    """On both backends: a take's price is held as `unknown` before its submit (counted), then
    becomes its `submit` charge when the job is known, or `refused` (not counted)."""
    store = open_store()
    p = store.create_project("x", Production(brief=BRIEF)).id
    for tid in ("t1", "t2"):
        take = Take(id=tid, project_id=p, shot_id="1.1", provider="kling", seed=1, input_hash=tid)
        price = SpendEntry(project_id=p, kind="submit", amount_usd=0.5, take_id=tid)
        store.save_submitting(take, price)
    assert store.total_spend(p) == pytest.approx(1.0)
    held = store.hold("t1")
    assert held is not None and held.kind == "unknown" and held.amount_usd == 0.5
    done = Take(
        id="t1",
        project_id=p,
        shot_id="1.1",
        provider="kling",
        seed=1,
        input_hash="t1",
        job_id="job-1",
        status=TakeStatus.SUBMITTED,
        cost_usd=0.5,
    )
    charge = SpendEntry(project_id=p, kind="submit", amount_usd=0.5, job_id="job-1", take_id="t1")
    store.save_submitted(done, charge)
    assert store.hold("t1") is None and store.total_spend(p) == pytest.approx(1.0)
    refused = Take(id="t2", project_id=p, shot_id="1.1", provider="kling", seed=1, input_hash="t2")
    store.refuse_hold(refused, "HTTP 400: refused")
    assert store.hold("t2") is None and store.total_spend(p) == pytest.approx(0.5)
    assert sorted(e.kind for e in store.spend(p)) == ["refused", "submit"]


def test_schema_steps_are_versioned_and_applied_once(
    open_store: Callable[[], ProjectStore],
) -> None:
    store = open_store()
    assert store.schema_versions() == list(range(1, SCHEMA_VERSION + 1))
    project = store.create_project("x", Production(brief=BRIEF))
    again = open_store()  # reopening applies nothing twice and keeps the rows
    assert again.schema_versions() == list(range(1, SCHEMA_VERSION + 1))
    assert again.migrate() == SCHEMA_VERSION
    assert again.get_project(project.id) == project


def test_holds_count_against_the_cap_until_settled_or_released(
    open_store: Callable[[], ProjectStore],
) -> None:
    store = open_store()
    p = store.create_project("x", Production(brief=BRIEF)).id
    store.record_spend(SpendEntry(project_id=p, kind="submit", amount_usd=0.4))
    first = store.reserve(p, 0.5, cap_usd=1.0)
    with pytest.raises(OverBudget, match=r"\$0\.10 left"):
        store.reserve(p, 0.2, cap_usd=1.0)  # 0.4 spent + 0.5 held + 0.2 > 1.0
    store.release_reservation(first)
    second = store.reserve(p, 0.6, cap_usd=1.0)
    take = Take(id="t", project_id=p, shot_id="1.1", provider="kling", seed=1, input_hash="h")
    spent = SpendEntry(project_id=p, kind="submit", amount_usd=0.6, take_id="t")
    store.settle_reservation(second, take, spent)
    assert store.reserved(p) == 0 and store.total_spend(p) == pytest.approx(1.0)
    assert [t.id for t in store.takes(p)] == ["t"]
    with pytest.raises(OverBudget):
        store.reserve(p, 0.01, cap_usd=1.0)
    store.reserve(p, 5.0, cap_usd=None)  # no cap, no refusal
