"""Rich progress on stderr for the pipeline's stages and takes."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from agent.conversation.turns import STEP_LABELS
from memory.models import Shot, Take, TakeStatus

__all__ = ["STEP_LABELS", "RichReporter"]


class RichReporter:
    """Implements tools.production.Reporter with rich bars on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._steps: dict[str, TaskID] = {}

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def step(self, name: str, fraction: float) -> None:
        if name not in self._steps:
            self._steps[name] = self.progress.add_task(STEP_LABELS.get(name, name), total=1.0)
        self.progress.update(self._steps[name], completed=fraction)

    def take(self, shot: Shot, take: Take) -> None:
        if take.status is TakeStatus.FAILED:
            self.console.print(f"[red]shot {shot.id} take failed:[/] {take.error}")
