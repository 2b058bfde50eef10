"""The one production engine every front end (CLI `make`/`resume`, chat, Slack) calls.

services (opened once), planning (one plan, keeps picks, provider fallback), pricing (one
`Quote`), rendering (takes, rank, pick), soundtrack (paid sound's price), assembly (master,
exports, one `--out` rule, OTIO), revision (a typed revision plan), runs (`make`, `resume`).
The names below are the engine's public surface.
"""

from tools.production.assembly import (
    OutputError,
    assemble_and_export,
    check_output_dir,
    export_dir,
    export_paths,
    write_timeline,
)
from tools.production.planning import fallback_shot, plan
from tools.production.pricing import (
    Estimate,
    Quote,
    estimate_audio,
    estimate_fresh,
    estimate_shot,
    quote_production,
    quote_sound,
    quote_takes,
)
from tools.production.rendering import ranked_takes, render_takes
from tools.production.runs import RunBusy, RunSpec, finish, make, resume, run_spec
from tools.production.services import ProductionError, Reporter, Services, work_dir_of

__all__ = [
    "Estimate",
    "OutputError",
    "ProductionError",
    "Quote",
    "Reporter",
    "RunBusy",
    "RunSpec",
    "Services",
    "assemble_and_export",
    "check_output_dir",
    "estimate_audio",
    "estimate_fresh",
    "estimate_shot",
    "export_dir",
    "export_paths",
    "fallback_shot",
    "finish",
    "make",
    "plan",
    "quote_production",
    "quote_sound",
    "quote_takes",
    "ranked_takes",
    "render_takes",
    "resume",
    "run_spec",
    "work_dir_of",
    "write_timeline",
]
