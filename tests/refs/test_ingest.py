"""Ingestion through the CLI: bad inputs fail cleanly (exit 2, one line, store unchanged); good
inputs are decoded, stripped of metadata, stored once, with a thumbnail."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli import ref_cmd
from agent.cli.main import app
from memory.embeddings import MiniLM
from memory.refstore import RefStore
from tests.refs.conftest import make_png
from tools.references import parse_timecode

runner = CliRunner()


@pytest.fixture(autouse=True)
def _model_loaded(model: MiniLM) -> None:
    """Share the session's MiniLM so no test pays for loading it."""


def data_dir() -> Path:
    return Path.cwd() / "data"  # the suite's conftest points REELFORGE_DATA_DIR here


def store_state() -> tuple[int, list[str]]:
    store = RefStore.open(data_dir())
    refs = data_dir() / "refs"
    files = sorted(str(p.relative_to(refs)) for p in refs.rglob("*")) if refs.exists() else []
    return store.count(None), files


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height but holds no pixel data (no need for 1.2 GB of RAM)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated jpeg": (
        lambda d: _write(d / "cut.jpg", _jpeg()[: len(_jpeg()) // 2]),
        "truncated",
    ),
    "pdf named png": (
        lambda d: _write(d / "doc.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
        "it is a PDF",
    ),
    "20000x20000": (lambda d: _write(d / "huge.png", _png_header(20000, 20000)), "MP"),
    "zero bytes": (lambda d: _write(d / "empty.png", b""), "empty"),
    "dot-dot path": (
        lambda d: Path("sub") / ".." / make_png(d / "fine.png", "fine").name,
        "'..'",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case: str) -> None:
    make, needle = BAD[case]
    good = make_png(Path.cwd() / "ok.png", "ok")
    assert (
        runner.invoke(app, ["ref", "add", str(good), "--kind", "prop", "--name", "Ok"]).exit_code
        == 0
    )
    (Path.cwd() / "sub").mkdir(exist_ok=True)
    before = store_state()
    path = make(Path.cwd())
    result = runner.invoke(app, ["ref", "add", str(path), "--kind", "character", "--name", "Mia"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert "Traceback" not in result.output
    assert store_state() == before


def test_bad_kind_and_both_scopes_are_refused() -> None:
    png = make_png(Path.cwd() / "a.png", "a")
    r = runner.invoke(app, ["ref", "add", str(png), "--kind", "villain", "--name", "X"])
    assert r.exit_code == 2 and "not one of character" in r.stderr
    r = runner.invoke(
        app,
        ["ref", "add", str(png), "--kind", "prop", "--name", "X", "--project", "p", "--library"],
    )
    assert r.exit_code == 2 and "not both" in r.stderr
    assert store_state() == (0, [])


def test_metadata_is_stripped_and_the_same_image_is_stored_once() -> None:
    src = Path.cwd() / "mia.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPSInfo: latitude
    Image.open(io.BytesIO(_jpeg())).save(src, "JPEG", exif=exif.tobytes(), comment=b"private")
    assert b"SecretCam" in src.read_bytes()

    args = ["ref", "add", str(src), "--kind", "character", "--name", "Mia", "--json"]
    first = runner.invoke(app, [*args, "--desc", "a girl with a red scarf"])
    assert first.exit_code == 0, first.output
    ref = json.loads(first.stdout)
    stored = Path(ref["file"])
    assert stored.parent == data_dir() / "refs" and stored.name == f"{ref['sha256']}.jpg"
    raw = stored.read_bytes()
    assert b"SecretCam" not in raw and b"private" not in raw
    with Image.open(stored) as im:
        assert not im.getexif() and "icc_profile" not in im.info and im.size == (64, 48)
    with Image.open(ref["thumbnail"]) as thumb:
        assert max(thumb.size) <= 256

    # The same picture again, even under another name: one file, one entry.
    again = runner.invoke(app, ["ref", "add", str(src), "--kind", "character", "--name", "Other"])
    assert again.exit_code == 0 and "already stored as" in again.stdout
    count, files = store_state()
    assert count == 1 and len([f for f in files if not f.startswith("thumbs")]) == 1


def test_list_and_search_through_the_cli() -> None:
    for name, desc, kind in [
        ("Mia", "a girl with a red scarf", "character"),
        ("Rooftop", "a city rooftop at dusk", "environment"),
    ]:
        png = make_png(Path.cwd() / f"{name}.png", name)
        r = runner.invoke(
            app, ["ref", "add", str(png), "--kind", kind, "--name", name, "--desc", desc]
        )
        assert r.exit_code == 0, r.output
    listed = json.loads(runner.invoke(app, ["ref", "list", "--json"]).stdout)
    assert {r["name"] for r in listed} == {"Mia", "Rooftop"}
    hits = json.loads(runner.invoke(app, ["ref", "search", "the young woman", "--json"]).stdout)
    assert hits[0]["name"] == "Mia" and hits[0]["similarity"] > hits[1]["similarity"]


def test_project_references_stay_in_their_project() -> None:
    from memory.models import Brief, Production
    from memory.store import ProjectStore

    store = ProjectStore(data_dir() / "reelforge.db")
    brief = Brief(
        title="Film", story="s", mood="m", style="s", duration=5, formats=["9:16"], audience="a"
    )
    project = store.create_project("Film", Production(brief=brief))
    store.close()
    png = make_png(Path.cwd() / "p.png", "p")
    r = runner.invoke(
        app, ["ref", "add", str(png), "--kind", "prop", "--name", "Lantern", "--project", "film"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(runner.invoke(app, ["ref", "list", "--json"]).stdout) == []
    in_project = json.loads(
        runner.invoke(app, ["ref", "list", "--project", "film", "--json"]).stdout
    )
    assert [(r["name"], r["project"]) for r in in_project] == [("Lantern", project.id)]
    r = runner.invoke(app, ["ref", "list", "--project", "nope"])
    assert r.exit_code == 2 and "no project" in r.stderr


def _video(path: Path) -> Path:
    """2 s at 10 fps: red for the first second, blue for the second."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            rgb = np.zeros((48, 64, 3), np.uint8)
            rgb[..., 0 if i < 10 else 2] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_grab_takes_the_frame_at_the_timecode() -> None:
    video = _video(Path.cwd() / "clip.mp4")
    r = runner.invoke(
        app,
        [
            "ref",
            "grab",
            str(video),
            "--at",
            "00:00:01.5",
            "--kind",
            "environment",
            "--name",
            "Blue room",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    ref = json.loads(r.stdout)
    pixel = np.asarray(Image.open(ref["file"]).convert("RGB"))[24, 32]
    assert pixel[2] > 150 and pixel[0] < 80  # blue, not red
    assert "1.5" in ref["description"] or "00:00:01.5" in ref["description"]

    r = runner.invoke(
        app, ["ref", "grab", str(video), "--at", "9", "--kind", "prop", "--name", "X"]
    )
    assert r.exit_code == 2 and "past the end" in r.stderr
    not_video = _write(Path.cwd() / "fake.mp4", b"not a video at all" * 10)
    r = runner.invoke(
        app, ["ref", "grab", str(not_video), "--at", "1", "--kind", "prop", "--name", "X"]
    )
    assert r.exit_code == 2 and r.stderr.startswith("error: ")
    assert store_state()[0] == 1


@pytest.mark.parametrize(
    ("text", "seconds"), [("12", 12.0), ("1:02.5", 62.5), ("01:00:01", 3601.0)]
)
def test_timecodes(text: str, seconds: float) -> None:
    assert parse_timecode(text) == seconds


class FakeGenerator:
    price_usd = 0.0  # free: no approval needed (an unpriced generator is refused)

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def generate(self, prompt: str, dest: Path) -> Path:
        self.prompts.append(prompt)
        return make_png(dest, prompt)


def test_generate_uses_the_injected_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    r = runner.invoke(
        app,
        [
            "ref",
            "generate",
            "a moody harbour at night",
            "--kind",
            "environment",
            "--name",
            "Harbour",
        ],
    )
    assert r.exit_code == 2 and "OPENAI_API_KEY" in r.stderr
    fake = FakeGenerator()
    monkeypatch.setattr(ref_cmd, "image_generator_factory", lambda settings: fake)
    r = runner.invoke(
        app,
        [
            "ref",
            "generate",
            "a moody harbour at night",
            "--kind",
            "environment",
            "--name",
            "Harbour",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert fake.prompts == ["a moody harbour at night"]
    assert json.loads(r.stdout)["description"] == "a moody harbour at night"
