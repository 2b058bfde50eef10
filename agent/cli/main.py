"""`reelforge` command line. Results on stdout, progress on stderr, one-line errors with exit 2.

Heavy modules are imported inside the commands so `reelforge --help` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    check_music,
    check_out,
    fail,
    print_run,
    report_run,
    run_pipeline,
)
from agent.cli.common import load_brief as _load_brief
from agent.cli.common import services as _services

if TYPE_CHECKING:
    from memory.models import Brief, Production
    from tools.production import Quote, Services

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "app", "fail", "plan_json", "run"]

app = typer.Typer(
    name="reelforge",
    help="From a vague idea to a finished AI video. Start with: reelforge plan BRIEF.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _parse_overrides(values: list[str]) -> dict[str, str]:
    from tools.providers.registry import UnknownProvider, check_provider_id

    out: dict[str, str] = {}
    for value in values:
        target, sep, provider = value.partition("=")
        if not sep or not target or not provider:
            fail(f"--provider takes SHOT=PROVIDER (e.g. 2=luma or 1.1=veo), got {value!r}")
        try:
            out[target.strip()] = check_provider_id(provider.strip())
        except UnknownProvider as exc:
            fail(str(exc))
    return out


def _plan(
    brief: Brief, services: Services, overrides: dict[str, str], takes: int | None = None
) -> Production:
    from tools.planner import PlanError
    from tools.production import plan
    from tools.providers.registry import UnknownProvider

    notes: list[str] = []
    try:
        production = plan(brief, services, overrides, takes=takes, notes=notes)
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        return production
    except (PlanError, UnknownProvider) as exc:
        fail(str(exc))


def plan_json(
    production: Production,
    takes: int | None,
    audio_usd: float = 0.0,
    quote: Quote | None = None,
) -> dict[str, Any]:
    """`takes` None: the default per shot (5 on a paid provider, 1 on the free animatic);
    `audio_usd` what the generated sound would cost (paid voice-over, music, ambience);
    `quote` the engine's price of the whole production (takes reused cost nothing), which
    then gives the totals."""
    from tools.production import estimate_shot
    from tools.production.soundtrack import speaks_itself
    from tools.references import unreferenced_characters
    from tools.takes import takes_for

    scenes = []
    total_cost = total_time = 0.0
    for scene in production.scenes:
        shots = []
        for shot in scene.shots:
            est = estimate_shot(shot, takes_for(shot, takes))
            total_cost += est.cost_usd
            total_time = max(total_time, est.seconds)
            shots.append(
                {
                    "id": shot.id,
                    "duration": shot.duration,
                    "aspect": shot.aspect,
                    "preferred_provider": shot.preferred_provider,
                    "preferred_reason": shot.preferred_reason,
                    "provider": shot.provider,
                    "model": shot.model,
                    "reason": shot.provider_reason,
                    "prompt": shot.prompt,
                    "dialogue": shot.dialogue,
                    # who speaks the line at export: the video model, else a voice-over
                    "dialogue_voice": (
                        None
                        if not shot.dialogue
                        else "native audio"
                        if speaks_itself(shot)
                        else "voice-over"
                    ),
                    "design": shot.design,
                    "variations": [
                        v.model_dump(include={"index", "variation", "prompt"})
                        for v in shot.variations
                    ],
                    "components": shot.components.model_dump(),
                    "missing_components": shot.components.missing(),
                    "reframe": shot.reframe,
                    "references": shot.reference_ids,
                    "unreferenced_characters": unreferenced_characters(shot),
                    "estimated_cost_usd": est.cost_usd,
                    "estimated_seconds": est.seconds,
                    "takes": takes_for(shot, takes),
                }
            )
        scenes.append(
            {
                "index": scene.index,
                "description": scene.description,
                "duration": scene.duration,
                "dialogue": scene.dialogue,
                "shots": shots,
            }
        )
    return {
        "title": production.brief.title,
        "duration": sum(s.duration for s in production.scenes),
        "formats": production.brief.formats,
        "finishing": production.finishing.model_dump(mode="json"),
        "takes_per_shot": takes,
        "estimated_cost_usd": round(total_cost + audio_usd, 4) if quote is None else quote.cost_usd,
        "estimated_seconds": round(total_time, 1),
        "audio_usd": audio_usd if quote is None else round(sum(quote.parts.values()), 4),
        "scenes": scenes,
    }


def finishing_words(finishing: dict[str, Any]) -> str:
    """The finishing options of `plan_json` in a few words."""
    parts = []
    if finishing["stabilise"]:
        parts.append("stabilised")
    if finishing["fps"]:
        parts.append(f"{finishing['fps']} fps ({finishing['interpolation']} interpolation)")
    if finishing["uhd"]:
        parts.append("UHD files too")
    if finishing["voiceover"]:
        parts.append(f"voice-over {finishing['voiceover']!r}")
    if finishing["subtitles"] != "none":
        parts.append(f"subtitles {finishing['subtitles']}")
    if finishing["posters"]:
        parts.append("posters")
    return ", ".join(parts) or "none (24 fps, no voice-over, subtitles or posters)"


def _print_plan(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{data['title']}: {data['duration']:g}s, {', '.join(data['formats'])}")
    for col in ("shot", "s", "provider", "why", "prompt", "missing", "refs", "est. $"):
        table.add_column(col, overflow="fold")
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            used = shot["provider"]
            pref = shot["preferred_provider"]
            who = used if used == pref else f"{used} (prefers {pref})"
            why = shot["preferred_reason"] + ("" if used == pref else f"; {shot['reason']}")
            table.add_row(
                shot["id"],
                f"{shot['duration']:g}",
                who,
                why,
                shot["prompt"],
                ", ".join(shot["missing_components"]) or "-",
                ", ".join(
                    shot["references"] + [f"NO REF: {n}" for n in shot["unreferenced_characters"]]
                )
                or "-",
                f"{shot['estimated_cost_usd']:.2f}",
            )
    console.print(table)
    console.print(f"Finishing: {finishing_words(data['finishing'])}.")
    n = data["takes_per_shot"]
    per = f"{n} take(s) per shot" if n else "5 takes per paid shot, 1 per animatic shot"
    console.print(
        f"Estimated: ${data['estimated_cost_usd']:.2f} for {per}, "
        f"about {data['estimated_seconds']:.0f}s of rendering."
    )


TakesOpt = Annotated[
    int | None,
    typer.Option(
        "--takes",
        "-n",
        min=1,
        max=20,
        help="Takes per shot (1-20). Default: REELFORGE_TAKES, else 5 per paid shot, 1 per "
        "animatic shot.",
    ),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--budget", min=0, help="Hard cap in USD on the project's spend (REELFORGE_BUDGET_USD)."
    ),
]


def takes_wanted(takes: int | None, services: Services) -> int | None:
    """--takes, else REELFORGE_TAKES when set, else None (the per-shot default)."""
    from tools.production.pricing import takes_wanted as wanted

    return wanted(takes, services.settings)


ProviderOpt = Annotated[
    list[str] | None,
    typer.Option("--provider", "-p", help="Override a shot's provider: SHOT=ID, e.g. 2=luma."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]

# Finishing options: each one given overrides the brief's `finishing:`; None = not given.
FINISHING = "Finishing (overrides the brief's finishing:)"
StabiliseOpt = Annotated[
    bool | None,
    typer.Option(
        "--stabilise/--no-stabilise",
        help="Stabilise each picked take before the cut.",
        rich_help_panel=FINISHING,
        show_default=False,
    ),
]
FpsOpt = Annotated[
    str | None,
    typer.Option(
        "--fps",
        metavar="[48|50|60]",
        help="Interpolate the cut to this frame rate (24: keep 24, no interpolation).",
        rich_help_panel=FINISHING,
    ),
]
InterpolationOpt = Annotated[
    str | None,
    typer.Option(
        "--interpolation",
        metavar="[fast|best]",
        help="fast: frame blending; best: motion-compensated (slow).",
        rich_help_panel=FINISHING,
    ),
]
UhdOpt = Annotated[
    bool | None,
    typer.Option(
        "--uhd/--no-uhd",
        help="Also write a UHD file per format.",
        rich_help_panel=FINISHING,
        show_default=False,
    ),
]
SubtitlesOpt = Annotated[
    str | None,
    typer.Option(
        "--subtitles",
        metavar="[none|burned|sidecar]",
        help="From the voice-over text, else the shots' dialogue: burned in or .srt files.",
        rich_help_panel=FINISHING,
    ),
]
PostersOpt = Annotated[
    bool | None,
    typer.Option(
        "--posters/--no-posters",
        help="A JPEG poster next to each export.",
        rich_help_panel=FINISHING,
        show_default=False,
    ),
]
VoiceoverOpt = Annotated[
    str | None,
    typer.Option(
        "--voiceover",
        metavar="TEXT",
        help='Narration spoken over the cut ("" for none).',
        rich_help_panel=FINISHING,
    ),
]
FPS_VALUES = {"24": None, "48": 48, "50": 50, "60": 60}


def with_finishing(brief: Brief, **given: Any) -> Brief:
    """`brief` with the finishing options given on the command line (None = not given) over
    the brief's own `finishing:`; a bad value is one line and exit 2."""
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        return brief
    from pydantic import ValidationError

    from memory.models import Finishing

    if "fps" in changes:
        fps = str(changes["fps"]).strip()
        if fps not in FPS_VALUES:
            fail(f"--fps takes 48, 50 or 60 (or 24 for no interpolation), got {fps!r}")
        changes["fps"] = FPS_VALUES[fps]
    base = brief.finishing or Finishing()
    try:
        finishing = Finishing.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--" + str(err["loc"][0]) if err["loc"] else "finishing"
        got = repr(err.get("input"))
        got = got if len(got) <= 60 else got[:57] + "..."
        fail(f"{option}: {err['msg']} (got {got})")
    return brief.model_copy(update={"finishing": finishing})


@app.command("plan")
def plan_cmd(
    brief_path: Annotated[Path, typer.Argument(metavar="BRIEF", help="A YAML brief.")],
    takes: TakesOpt = None,
    provider: ProviderOpt = None,
    as_json: JsonOpt = False,
    stabilise: StabiliseOpt = None,
    fps: FpsOpt = None,
    interpolation: InterpolationOpt = None,
    uhd: UhdOpt = None,
    subtitles: SubtitlesOpt = None,
    posters: PostersOpt = None,
    voiceover: VoiceoverOpt = None,
) -> None:
    """Scenes, shots, provider per shot with the reason, prompts, cost. Spends nothing."""
    brief = with_finishing(
        _load_brief(brief_path),
        stabilise=stabilise,
        fps=fps,
        interpolation=interpolation,
        uhd=uhd,
        subtitles=subtitles,
        posters=posters,
        voiceover=voiceover,
    )
    check_music(brief)
    services = _services()
    try:
        n = takes_wanted(takes, services)
        production = _plan(brief, services, _parse_overrides(provider or []), n)
        from tools.production import quote_production

        quote = quote_production(production, n, services.store, services.settings)
        data = plan_json(production, n, quote=quote)
    finally:
        services.store.close()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_plan(data)


@app.command("make")
def make_cmd(
    brief_path: Annotated[Path, typer.Argument(metavar="BRIEF", help="A YAML brief.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where the exports go.")] = None,
    takes: TakesOpt = None,
    provider: ProviderOpt = None,
    as_json: JsonOpt = False,
    budget: BudgetOpt = None,
    stabilise: StabiliseOpt = None,
    fps: FpsOpt = None,
    interpolation: InterpolationOpt = None,
    uhd: UhdOpt = None,
    subtitles: SubtitlesOpt = None,
    posters: PostersOpt = None,
    voiceover: VoiceoverOpt = None,
) -> None:
    """The whole pipeline: plan, takes, pick, assemble, audio, export every format, finished
    as the brief's finishing: and the finishing options say."""
    from agent.cli.progress import RichReporter
    from tools.production import make

    brief = with_finishing(
        _load_brief(brief_path),
        stabilise=stabilise,
        fps=fps,
        interpolation=interpolation,
        uhd=uhd,
        subtitles=subtitles,
        posters=posters,
        voiceover=voiceover,
    )
    check_out(out)  # before anything is planned or paid
    check_music(brief)
    services = _services()
    overrides = _parse_overrides(provider or [])
    _plan(brief, services, overrides)  # fails fast, before anything is written
    n = takes_wanted(takes, services)
    notes: list[str] = []

    async def go() -> tuple[Any, Any, float]:
        with RichReporter() as reporter:
            try:
                project, revision = await make(
                    brief,
                    services,
                    takes=n,
                    out_dir=out,
                    overrides=overrides,
                    reporter=reporter,
                    note=f"made from {brief_path.name}",
                    budget_usd=budget,
                    notes=notes,
                )
                report_run(project.id, revision.production, services)
                for line in notes:
                    typer.echo(f"note: {line}", err=True)
                return project, revision, services.store.total_spend(project.id)
            finally:
                await services.aclose()

    project, revision, spend = run_pipeline(go)
    print_run(project.id, revision, spend, as_json=as_json)


@app.command("projects")
def projects_cmd(as_json: JsonOpt = False) -> None:
    """Every project: id, title, revisions."""
    services = _services()
    try:
        rows = services.store.list_projects()
    finally:
        services.store.close()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "project_id": p.id,
                        "title": p.title,
                        "revisions": n,
                        "created_at": p.created_at.isoformat(),
                    }
                    for p, n in rows
                ]
            )
        )
        return
    if not rows:
        typer.echo("no projects yet: `reelforge make BRIEF.yaml` starts one")
    for p, n in rows:
        typer.echo(f"{p.id}\t{n} revision(s)\t{p.title}")


@app.command("show")
def show_cmd(
    project_ref: Annotated[str, typer.Argument(metavar="PROJECT", help="Id, id prefix or slug.")],
    as_json: JsonOpt = False,
) -> None:
    """A project's latest revision: scenes, picks, exports, spend."""
    from memory.store import ProjectNotFound

    services = _services()
    try:
        try:
            project = services.store.get_project(project_ref)
        except ProjectNotFound as exc:
            fail(str(exc))
        revisions = services.store.revisions(project.id)
        production = revisions[-1].production if revisions else services.store.working(project.id)
        spend = services.store.total_spend(project.id)
    finally:
        services.store.close()
    data: dict[str, Any] = {
        "project_id": project.id,
        "title": project.title,
        "revisions": len(revisions),
        "revision_notes": [r.note for r in revisions],
        "brief": production.brief.model_dump(
            mode="json",
            include={
                "title",
                "story",
                "mood",
                "style",
                "duration",
                "formats",
                "audience",
                "platform",
            },
        ),
        "exports": [str(p) for p in production.exports],
        "master": str(production.master) if production.master else None,
        "grade": production.grade.model_dump(),
        "finishing": production.finishing.model_dump(mode="json"),
        "spend_usd": spend,
        "shots": [
            {
                "id": s.id,
                "provider": s.provider,
                "take": production.picks.get(s.id),
                "prompt": s.prompt,
            }
            for s in production.shots()
        ],
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{project.id}: {project.title}")
    typer.echo(f"revisions: {len(revisions)}; spent ${spend:.2f}")
    for shot in data["shots"]:
        typer.echo(f"  shot {shot['id']}: {shot['provider']}, take {shot['take'] or '-'}")
    for path in data["exports"]:
        typer.echo(f"  {path}")


from agent.cli import ref_cmd  # noqa: E402  (registers `reelforge ref ...`)

ref_cmd.register(app)

from agent.cli import chat  # noqa: E402  (registers `reelforge chat`)

chat.register(app)

from agent.cli import post_cmd  # noqa: E402  (registers `reelforge export` and `post ...`)

post_cmd.register(app)

from agent.cli import sandbox_cmd  # noqa: E402  (registers `reelforge sandbox`)

sandbox_cmd.register(app)

from agent.cli import slack_cmd  # noqa: E402  (registers `reelforge slack`)

slack_cmd.register(app)

from agent.cli import resume_cmd  # noqa: E402  (registers `reelforge resume`)

resume_cmd.register(app)

from agent.cli import review_cmd  # noqa: E402  (registers `reelforge takes` and `review`)

review_cmd.register(app)

from agent.cli import doctor_cmd  # noqa: E402  (registers `reelforge doctor`)

doctor_cmd.register(app)

from agent.cli import worker_cmd  # noqa: E402  (registers `reelforge worker`)

worker_cmd.register(app)


def run() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # a Postgres connection lost mid-write: its one-line reason, not a traceback (looked up
        # lazily: `--help` must not import the store)
        store = sys.modules.get("memory.store")
        if store is None or not isinstance(exc, store.StoreConnectionLost):
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
