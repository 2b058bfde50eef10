"""`reelforge ref ...`: add, grab, generate, list and search visual references.

Heavy modules (Chroma, numpy, Pillow, PyAV) are imported inside the commands so `reelforge --help`
stays fast. Bad input is one `error: ...` line on stderr, exit 2, and the store is left unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from memory.models import Reference
    from memory.refstore import RefStore
    from tools.references import Added, ImageGenerator
    from tools.settings import Settings

EXIT_USAGE = 2


def _default_generator(settings: Settings) -> ImageGenerator | None:
    from tools.references import concept_art_generator

    return concept_art_generator(settings)


# settings -> generator (the OpenAI image adapter), or None; tests put a fake here.
image_generator_factory: Callable[[Settings], ImageGenerator | None] | None = _default_generator

ref_app = typer.Typer(
    name="ref",
    help="Visual references: characters, places, looks, props, wardrobe.",
    no_args_is_help=True,
)

KindOpt = Annotated[
    str, typer.Option("--kind", "-k", help="character|environment|style|prop|wardrobe")
]
NameOpt = Annotated[str, typer.Option("--name", help="What shots call it, e.g. Mia.")]
DescOpt = Annotated[str, typer.Option("--desc", help="Canonical description for prompts.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", help="Project id or slug (default: the library).")
]
LibraryOpt = Annotated[bool, typer.Option("--library", help="The shared brand library.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _settings() -> Settings:
    from pydantic import ValidationError

    from tools.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        _fail(f"setting REELFORGE_{str(err['loc'][0]).upper()}: {err['msg']}")


def _open(settings: Settings) -> RefStore:
    from memory.refstore import RefStore, RefStoreError

    try:
        return RefStore.open(settings.data_dir, settings.chroma_url)
    except (RefStoreError, ValueError) as exc:
        _fail(str(exc).splitlines()[0])
    except Exception as exc:  # Chroma raises bare errors when a server is unreachable
        _fail(f"cannot open the reference store: {str(exc).splitlines()[0] if str(exc) else exc}")


def _scope(settings: Settings, project: str | None, library: bool) -> str | None:
    """The project id refs go to (resolved through the project store), or None for the library."""
    if project and library:
        _fail("give --project or --library, not both")
    if not project:
        return None
    from memory.store import ProjectNotFound, ProjectStore

    store = ProjectStore(settings.store_target)
    try:
        return store.get_project(project).id
    except ProjectNotFound as exc:
        _fail(str(exc))
    finally:
        store.close()


def _ref_json(ref: Reference) -> dict[str, Any]:
    return {
        "id": ref.id,
        "kind": ref.kind,
        "name": ref.name,
        "description": ref.description,
        "project": ref.project_id,
        "sha256": ref.sha256,
        "file": str(ref.file) if ref.file else None,
        "thumbnail": str(ref.thumbnail) if ref.thumbnail else None,
    }


def _report(added: Added, as_json: bool) -> None:
    ref = added.reference
    if as_json:
        typer.echo(json.dumps({**_ref_json(ref), "created": added.created}))
    elif added.created:
        typer.echo(f"added {ref.id} ({ref.kind} {ref.name!r}) -> {ref.file}")
    else:
        typer.echo(f"already stored as {ref.id} ({ref.kind} {ref.name!r}); nothing added")


@ref_app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An image (PNG, JPEG, WebP...).")],
    kind: KindOpt,
    name: NameOpt,
    desc: DescOpt = "",
    project: ProjectOpt = None,
    library: LibraryOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an image as a reference (validated, metadata stripped, stored once)."""
    from tools.references import ReferenceError, add_reference

    settings = _settings()
    scope = _scope(settings, project, library)
    try:
        added = add_reference(
            file,
            kind,
            name,
            desc,
            scope,
            store=_open(settings),
            refs_dir=settings.data_dir / "refs",
        )
    except ReferenceError as exc:
        _fail(str(exc))
    _report(added, as_json)


@ref_app.command("grab")
def grab_cmd(
    video: Annotated[Path, typer.Argument(metavar="VIDEO", help="A video file.")],
    at: Annotated[str, typer.Option("--at", help="Timecode: 12.5, MM:SS or HH:MM:SS.")],
    kind: KindOpt,
    name: NameOpt,
    desc: DescOpt = "",
    project: ProjectOpt = None,
    library: LibraryOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a frame of a video as a reference."""
    from tools.references import ReferenceError, add_frame

    settings = _settings()
    scope = _scope(settings, project, library)
    try:
        added = add_frame(
            video,
            at,
            kind,
            name,
            desc,
            scope,
            store=_open(settings),
            refs_dir=settings.data_dir / "refs",
        )
    except ReferenceError as exc:
        _fail(str(exc))
    _report(added, as_json)


@ref_app.command("generate")
def generate_cmd(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What the concept art shows.")],
    kind: KindOpt,
    name: NameOpt,
    desc: DescOpt = "",
    project: ProjectOpt = None,
    library: LibraryOpt = False,
    as_json: JsonOpt = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve the image's price without asking.")
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0, help="Spend cap (USD); default REELFORGE_BUDGET_USD."),
    ] = None,
) -> None:
    """Generate concept art (OpenAI image generation, paid: asks first) and add it as a
    reference. The price is on the project's (or the library's) spend ledger."""
    import sys

    from memory.store import ProjectStore
    from tools.references import ReferenceError, generate_paid_reference

    settings = _settings()
    scope = _scope(settings, project, library)
    generator = image_generator_factory(settings) if image_generator_factory else None
    if generator is None:
        if not os.environ.get("OPENAI_API_KEY"):
            _fail("concept art needs OPENAI_API_KEY; set it, or add an image with `ref add`")
        _fail("no image generator is wired in this build; add an image with `ref add`")

    def approve(price: float) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            _fail(f"concept art costs ${price:.3f}; pass --yes to approve it")
        return typer.confirm(f"Generate concept art for ${price:.3f}?", err=True)

    ledger = ProjectStore(settings.db_path)
    try:
        added = asyncio.run(
            generate_paid_reference(
                prompt,
                kind,
                name,
                desc,
                scope,
                generator=generator,
                store=_open(settings),
                refs_dir=settings.data_dir / "refs",
                ledger=ledger,
                budget_usd=settings.budget_usd if budget is None else budget,
                approve=approve,
            )
        )
    except ReferenceError as exc:
        _fail(str(exc))
    finally:
        ledger.close()
    _report(added, as_json)


@ref_app.command("list")
def list_cmd(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """References of a project (with the library's), or the library's."""
    settings = _settings()
    scope = _scope(settings, project, False)
    refs = _open(settings).entries(scope, with_library=scope is not None)
    if as_json:
        typer.echo(json.dumps([_ref_json(r) for r in refs], indent=2))
        return
    if not refs:
        typer.echo("no references yet: `reelforge ref add FILE --kind character --name NAME`")
    for r in refs:
        where = r.project_id or "library"
        typer.echo(f"{r.id}\t{r.kind}\t{r.name}\t{where}\t{r.description}")


@ref_app.command("search")
def search_cmd(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="A mention: 'the girl'.")],
    project: ProjectOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 5,
    as_json: JsonOpt = False,
) -> None:
    """References ranked by how well they match TEXT."""
    settings = _settings()
    scope = _scope(settings, project, False)
    hits = _open(settings).search(text, scope, k=limit)
    if as_json:
        typer.echo(
            json.dumps(
                [{**_ref_json(h.reference), "similarity": round(h.similarity, 4)} for h in hits],
                indent=2,
            )
        )
        return
    if not hits:
        typer.echo("no references match")
    for h in hits:
        r = h.reference
        typer.echo(f"{h.similarity:.3f}\t{r.id}\t{r.kind}\t{r.name}\t{r.description}")


def register(app: typer.Typer) -> None:
    """Add the `ref` command group to the main app."""
    app.add_typer(ref_app, name="ref")
