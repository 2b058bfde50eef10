"""What the engine works with, opened once at the edge (CLI, chat, Slack): settings, the project
store, the provider registry and (lazily, once) the reference store; the progress reporter
protocol; the engine's one error type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from memory.models import Shot, Take
from memory.store import ProjectStore
from tools.providers.registry import Registry
from tools.settings import Settings

if TYPE_CHECKING:
    from memory.refstore import RefStore
    from tools.production.jobs import JobQueue


class Reporter(Protocol):
    def step(self, name: str, fraction: float) -> None: ...

    def take(self, shot: Shot, take: Take) -> None: ...


Step = Callable[[str, float], None]


class ProductionError(RuntimeError):
    """The production cannot go on; the message says what failed and what to do."""


def noop_step(name: str, fraction: float) -> None:
    return None


@dataclass
class Services:
    """What the pipeline works with; built once at the edge (CLI, chat, Slack)."""

    settings: Settings
    store: ProjectStore
    registry: Registry
    _refs: Any = field(default=None, repr=False)
    # team mode (REELFORGE_DATABASE_URL): takes and productions run as jobs on `reelforge worker`s
    jobs: JobQueue | None = None

    @classmethod
    def open(cls, settings: Settings) -> Services:
        services = cls(settings, ProjectStore(settings.store_target), Registry(settings))
        if settings.database_url is not None:
            from tools.production.jobs import JobQueue

            services.jobs = JobQueue(settings.database_url.get_secret_value())
        return services

    def refs(self) -> RefStore:
        """The reference store, opened on first use and kept: the one place that opens it."""
        if self._refs is None:
            from memory.refstore import RefStore

            self._refs = RefStore.open(self.settings.data_dir, self.settings.chroma_url)
        store: RefStore = self._refs
        return store

    async def aclose(self) -> None:
        await self.registry.aclose()
        if self.jobs is not None:
            self.jobs.close()
        self.store.close()


def work_dir_of(settings: Settings, project_id: str | None) -> Path:
    """Where a project's cached finishing lives (stabilised takes, master, stems, exports)."""
    return settings.media_dir / "work" / (project_id or "-")


def project_dir(settings: Settings, project_id: str) -> Path:
    """The project's own folder under the data dir (default exports, timelines, uploads)."""
    return settings.data_dir / "projects" / project_id
