"""Visual references: ingestion (files, frame grabs, concept art), mention resolution, and the
post-planning pass that brings references into every shot.

Every file is decoded before anything is stored (Pillow for images, PyAV for video), limited in
bytes and pixels, re-encoded from pixels only (no EXIF, GPS or ICC survives), and stored
content-addressed under `<data_dir>/refs/<sha256>.png|jpg` with a thumbnail, so the same image
twice is one file and one entry. Heavy modules (Pillow, PyAV, Chroma) load inside functions: the
CLI imports this module for `--help`.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from memory.models import Production, Reference, Shot, Take, TakeStatus

if TYPE_CHECKING:
    from PIL.Image import Image

    from memory.refstore import RefStore
    from memory.store import ProjectStore
    from tools.providers.base import CapabilityProfile
    from tools.settings import Settings

MAX_BYTES = 50 * 1024 * 1024
MAX_VIDEO_BYTES = 2 * 1024 * 1024 * 1024
MAX_PIXELS = 40_000_000
THUMB_SIZE = 256
KINDS = ("character", "environment", "style", "prop", "wardrobe")
# Which references a provider gets first when it takes fewer than we have.
KIND_PRIORITY = {"character": 0, "wardrobe": 1, "environment": 2, "prop": 3, "style": 4}
# Cosine similarity above which a phrase in a shot ("the girl") is taken to mean a reference.
MENTION_THRESHOLD = 0.35
_MAGIC = {
    b"%PDF": "a PDF",
    b"PK\x03\x04": "a zip archive",
    b"GIF8": "a GIF",
    b"<svg": "an SVG",
    b"<?xm": "an XML/SVG file",
}


class ReferenceError(ValueError):
    """Bad input for a reference; the message is one line a person can act on."""


class ImageGenerator(Protocol):
    """Concept art: writes one image for `prompt` to `dest` and returns its path."""

    async def generate(self, prompt: str, dest: Path) -> Path: ...


@dataclass(frozen=True)
class Added:
    reference: Reference
    created: bool  # False: the same image was already in that scope


# --------------------------------------------------------------------------- validation


def check_path(path: Path, max_bytes: int = MAX_BYTES) -> Path:
    """Reject `..` components, missing, non-regular, empty and oversized files."""
    if ".." in Path(path).parts:
        raise ReferenceError(f"{path}: paths with '..' are not accepted; give a direct path")
    if not path.exists():
        raise ReferenceError(f"{path}: no such file")
    if not path.is_file():
        raise ReferenceError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise ReferenceError(f"{path}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise ReferenceError(
            f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit"
        )
    return path


def _sniff(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    return None


def decode_image(data: bytes, label: str) -> Image:
    """Fully decode `data` with Pillow, within the pixel limit; any failure is a ReferenceError."""
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(data))
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ReferenceError(
                    f"{label}: {w}x{h} is {w * h / 1e6:.0f} MP, over the {MAX_PIXELS / 1e6:.0f} MP "
                    "limit; downscale it first"
                )
            im.load()
            ImageOps.exif_transpose(im, in_place=True)  # keeps im.format (JPEG stays JPEG)
    except ReferenceError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ReferenceError(
            f"{label}: too many pixels (over {MAX_PIXELS / 1e6:.0f} MP); downscale it first"
        ) from exc
    except UnidentifiedImageError as exc:
        what = _sniff(data[:8])
        raise ReferenceError(
            f"{label}: not an image Pillow can read" + (f" (it is {what})" if what else "")
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        hint = "truncated" if "truncat" in msg.lower() else "damaged"
        raise ReferenceError(f"{label}: the image is {hint} and cannot be decoded ({msg})") from exc
    return im


def _clean_pixels(im: Image) -> tuple[Image, str]:
    """Pixels only, in RGB or RGBA, and the format to store them in (lossy stays JPEG)."""
    from PIL import Image as PILImage

    fmt = "jpg" if im.format == "JPEG" else "png"
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    mode = "RGBA" if has_alpha and fmt == "png" else "RGB"
    rgb = im.convert(mode)
    return PILImage.frombytes(mode, rgb.size, rgb.tobytes()), fmt


def pixel_hash(im: Image) -> str:
    """sha256 of mode, size and pixels: the same picture with other metadata hashes the same."""
    digest = hashlib.sha256(f"{im.mode}:{im.size[0]}x{im.size[1]}:".encode())
    digest.update(im.tobytes())
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(im: Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpg":
        im.save(buf, "JPEG", quality=92, optimize=True)
    else:
        im.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _store_image(im: Image, refs_dir: Path) -> tuple[str, Path, Path]:
    """Write the clean image and its thumbnail, content-addressed; returns (sha, file, thumb)."""
    clean, fmt = _clean_pixels(im)
    sha = pixel_hash(clean)
    file = refs_dir / f"{sha}.{fmt}"
    thumb = refs_dir / "thumbs" / f"{sha}.jpg"
    if not file.exists():
        _atomic_write(file, _encode(clean, fmt))
    if not thumb.exists():
        small = clean.convert("RGB")
        small.thumbnail((THUMB_SIZE, THUMB_SIZE))
        _atomic_write(thumb, _encode(small, "jpg"))
    return sha, file, thumb


def _check_meta(kind: str, name: str) -> None:
    if kind not in KINDS:
        raise ReferenceError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not name.strip():
        raise ReferenceError("a reference needs a name (e.g. --name Mia)")


def add_image(
    im: Image,
    kind: str,
    name: str,
    description: str,
    project: str | None,
    *,
    store: RefStore,
    refs_dir: Path,
) -> Added:
    """Store an already decoded image as a reference (one entry per image per scope)."""
    from memory.refstore import reference_id

    _check_meta(kind, name)
    clean, _ = _clean_pixels(im)
    w, h = clean.size
    if w * h > MAX_PIXELS:
        raise ReferenceError(f"{w}x{h} is over the {MAX_PIXELS / 1e6:.0f} MP limit")
    existing = store.by_hash(pixel_hash(clean), project)
    if existing is not None:
        return Added(existing, created=False)
    sha, file, thumb = _store_image(im, refs_dir)
    ref = Reference(
        id=reference_id(name, sha),
        kind=kind,  # type: ignore[arg-type]
        name=name.strip(),
        description=description.strip(),
        file=file,
        sha256=sha,
        project_id=project,
        thumbnail=thumb,
    )
    return Added(store.add(ref), created=True)


def add_reference(
    file: Path,
    kind: str,
    name: str,
    description: str = "",
    project: str | None = None,
    *,
    store: RefStore,
    refs_dir: Path,
) -> Added:
    """Validate, clean and store an image file as a reference. `project=None`: the library."""
    _check_meta(kind, name)
    path = check_path(Path(file))
    im = decode_image(path.read_bytes(), str(file))
    return add_image(im, kind, name, description, project, store=store, refs_dir=refs_dir)


# --------------------------------------------------------------------------- frame grabs


def parse_timecode(text: str) -> float:
    """`12`, `12.5`, `1:02.5` or `00:01:02.5` -> seconds."""
    if not re.fullmatch(r"\d+(?:\.\d+)?|(?:\d+:){1,2}\d+(?:\.\d+)?", text.strip()):
        raise ReferenceError(f"timecode {text!r}: use seconds (12.5), MM:SS or HH:MM:SS(.ms)")
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def grab_frame(video: Path, at: str | float) -> Image:
    """The frame shown at `at` (timecode or seconds) in `video`, decoded with PyAV."""
    import av
    from PIL import Image as PILImage

    t = parse_timecode(at) if isinstance(at, str) else float(at)
    path = check_path(Path(video), MAX_VIDEO_BYTES)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ReferenceError(f"{video}: has no video stream")
            stream = container.streams.video[0]
            if stream.width * stream.height > MAX_PIXELS:
                raise ReferenceError(
                    f"{video}: frames are over the {MAX_PIXELS / 1e6:.0f} MP limit"
                )
            length = float(container.duration / av.time_base) if container.duration else None
            if length is not None and t > length:
                raise ReferenceError(f"{video}: it is {length:.2f}s long; {at} is past the end")
            if stream.time_base is not None and t > 0:
                container.seek(int(t / stream.time_base), stream=stream, backward=True)
            last = None
            for frame in container.decode(stream):
                if frame.time is not None and frame.time > t + 1e-6 and last is not None:
                    break
                last = frame
                if frame.time is not None and abs(frame.time - t) < 1e-6:
                    break
            if last is None:
                raise ReferenceError(f"{video}: no frame decoded at {at}")
            rgb = last.to_ndarray(format="rgb24")
    except ReferenceError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReferenceError(f"{video}: not a video PyAV can decode ({msg})") from exc
    return PILImage.fromarray(rgb)


def add_frame(
    video: Path,
    at: str,
    kind: str,
    name: str,
    description: str = "",
    project: str | None = None,
    *,
    store: RefStore,
    refs_dir: Path,
) -> Added:
    _check_meta(kind, name)
    im = grab_frame(video, at)
    desc = description or f"frame at {at} of {Path(video).name}"
    return add_image(im, kind, name, desc, project, store=store, refs_dir=refs_dir)


# --------------------------------------------------------------------------- concept art


async def generate_reference(
    prompt: str,
    kind: str,
    name: str,
    description: str = "",
    project: str | None = None,
    *,
    generator: ImageGenerator | None,
    store: RefStore,
    refs_dir: Path,
) -> Added:
    """Concept art from `generator`, validated and stored like any upload."""
    _check_meta(kind, name)
    if not prompt.strip():
        raise ReferenceError("concept art needs a prompt")
    if generator is None:
        raise ReferenceError(
            "concept art needs an image generator: set OPENAI_API_KEY (or pass one) and retry"
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = await generator.generate(prompt, Path(tmp) / "concept.png")
        path = check_path(Path(out))
        im = decode_image(path.read_bytes(), "generated image")
    return add_image(im, kind, name, description or prompt, project, store=store, refs_dir=refs_dir)


IMAGE_PRICES_USD = {"low": 0.016, "medium": 0.063, "high": 0.25}  # gpt-image-1, 1536x1024
LIBRARY_ACCOUNT = "library"  # the ledger account of concept art for the shared library


class OpenAIConceptArt:
    """gpt-image-1 concept art through `tools.providers.openai_media`, priced per image."""

    def __init__(
        self, settings: Settings, *, quality: str = "medium", transport: Any = None
    ) -> None:
        self.settings = settings
        self.quality = quality
        self.price_usd = IMAGE_PRICES_USD[quality]
        self.transport = transport

    async def generate(self, prompt: str, dest: Path) -> Path:
        from tools.providers.openai_media import OpenAIMedia

        media = OpenAIMedia(self.settings, transport=self.transport)
        try:
            return await media.image(prompt, dest, quality=self.quality)
        finally:
            await media.aclose()


def concept_art_generator(settings: Settings) -> ImageGenerator | None:
    """The OpenAI image adapter when OPENAI_API_KEY is set, else None."""
    return OpenAIConceptArt(settings) if settings.openai_api_key is not None else None


async def generate_paid_reference(
    prompt: str,
    kind: str,
    name: str,
    description: str = "",
    project: str | None = None,
    *,
    generator: ImageGenerator | None,
    store: RefStore,
    refs_dir: Path,
    ledger: ProjectStore,
    budget_usd: float | None,
    approve: Callable[[float], bool],
) -> Added:
    """Concept art as paid work, like a take: priced (an unpriceable generator is refused),
    checked against the budget, approved, held in the spend ledger as `unknown` before the
    request (sent once), then charged, or refunded when the provider surely refused it."""
    from memory.models import SpendEntry
    from tools.providers.base import ProviderError
    from tools.spend import BudgetExceeded, SpendGuard

    _check_meta(kind, name)
    if not prompt.strip():
        raise ReferenceError("concept art needs a prompt")
    if generator is None:
        raise ReferenceError(
            "concept art needs an image generator: set OPENAI_API_KEY (or pass one) and retry"
        )
    price = getattr(generator, "price_usd", None)
    if not isinstance(price, int | float) or not math.isfinite(price) or price < 0:
        raise ReferenceError("this image generator has no price, so it is not used")
    account = project or LIBRARY_ACCOUNT
    try:
        SpendGuard(budget_usd, ledger.total_spend(account)).reserve(price)
    except BudgetExceeded as exc:
        raise ReferenceError(f"concept art {exc}") from None
    if price > 0 and not approve(price):
        raise ReferenceError(f"concept art (${price:.3f}) was not approved; nothing was charged")
    key = f"img-{uuid.uuid4().hex[:10]}"
    hold = SpendEntry(
        project_id=account,
        kind="unknown",
        amount_usd=price,
        provider="openai",
        take_id=key,
        note=f"concept art: {prompt[:80]}",
    )
    if price:
        ledger.record_spend(hold)
    try:
        added = await generate_reference(
            prompt,
            kind,
            name,
            description,
            project,
            generator=generator,
            store=store,
            refs_dir=refs_dir,
        )
    except ProviderError as exc:
        if price and exc.kind != "timeout":  # surely not accepted: refund
            ledger.settle_hold(key, hold.model_copy(update={"kind": "refused"}))
        raise ReferenceError(str(exc)) from None
    except ReferenceError:
        if price:  # the image came back (and was paid) but could not be used
            ledger.settle_hold(key, hold.model_copy(update={"kind": "submit"}))
        raise
    if price:
        ledger.settle_hold(key, hold.model_copy(update={"kind": "submit"}))
    return added


# --------------------------------------------------------------------------- mentions


# A lookahead, so overlapping phrases ("a girl in a red scarf", "a red scarf") are all found.
_DETERMINER_PHRASE = re.compile(
    r"(?=\b((?:the|a|an|her|his|their|our|my)\s+(?:[a-z'-]+\s+){0,4}[a-z'-]+))", re.IGNORECASE
)
_PHRASE_STOP = re.compile(
    r"\s+(?:at|in|on|with|and|while|as|to|from|into|over|under|by|through|across|near|"
    r"walks?|runs?|looks?|stands?|sits?|is|are|was)\b.*$",
    re.IGNORECASE,
)
_NOT_NAMES = {
    "The", "A", "An", "She", "He", "They", "We", "I", "It", "Her", "His", "Their", "Our", "My",
    "Title", "Text", "Logo", "Close", "Wide", "Slow", "Drone", "Aerial", "Night", "Day", "Dusk",
    "Dawn", "Morning", "Evening", "Then", "Later", "Meanwhile", "Cut", "Fade", "Outro", "Intro",
    "Scene", "Shot", "Camera", "Ext", "Int", "Finally", "Suddenly", "In", "On", "At", "With",
}  # fmt: skip
_COMMON_SUBJECTS = {
    "rain", "snow", "fog", "wind", "sun", "light", "smoke", "water", "waves", "traffic", "music",
    "time", "everything", "nothing", "someone", "everyone", "people", "city", "night", "sky",
}  # fmt: skip


def mention_phrases(text: str) -> list[str]:
    """Noun-ish phrases a shot may use for a reference: "the girl", "an old lantern"."""
    out: list[str] = []
    for m in _DETERMINER_PHRASE.finditer(text):
        phrase = _PHRASE_STOP.sub("", m.group(1)).strip(" ,.;:")
        if len(phrase.split()) >= 2 and phrase.lower() not in (p.lower() for p in out):
            out.append(phrase)
    return out


def named_characters(text: str) -> list[str]:
    """Capitalised words that read as a person's name ("Mia", "Tom"), in order. A heuristic:
    quoted text and places ("in Tokyo") are ignored; a sentence's first word counts only before a
    verb ("Mia walks")."""
    names: list[str] = []
    unquoted = re.sub(r"\"[^\"]*\"|“[^”]*”", " ", text)
    for m in re.finditer(r"(?<![\w'])([A-Z][a-z]{1,20})(?:'s)?\b", unquoted):
        word = m.group(1)
        if word in _NOT_NAMES or word in names or word.lower() in _COMMON_SUBJECTS:
            continue
        before = unquoted[: m.start()].rstrip()
        if re.search(r"\b(?:in|at|through|to|from|across|over|into|near|around|of)$", before):
            continue  # "through Tokyo": a place, not a character
        if not before or before[-1] in ".!?:;":
            after = unquoted[m.end() :].lstrip()
            if not re.match(r"[a-z]+s\b", after):
                continue
        names.append(word)
    return names


def resolve_mentions(
    text: str,
    project: str | None,
    store: RefStore,
    *,
    threshold: float = MENTION_THRESHOLD,
) -> list[Reference]:
    """References a piece of text means: name matches first, then phrases like "the rooftop"
    by embedding similarity above `threshold` (one best reference per phrase)."""
    found: dict[str, Reference] = {}
    lowered = text.lower()
    for name, refs in store.names(project).items():
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered):
            for ref in refs:
                found.setdefault(ref.id, ref)
    named = {r.name.lower() for r in found.values()}
    for phrase in mention_phrases(text):
        if any(n in phrase.lower() for n in named):
            continue
        hits = store.search(phrase, project, k=1)
        if hits and hits[0].similarity >= threshold:
            found.setdefault(hits[0].reference.id, hits[0].reference)
    return sorted(found.values(), key=lambda r: KIND_PRIORITY[r.kind])


# --------------------------------------------------------------------------- shots


def canonical(ref: Reference) -> str:
    return f"{ref.name}, {ref.description}" if ref.description else ref.name


def apply_references(shot: Shot, refs: list[Reference]) -> Shot:
    """`shot` with reference ids attached and canonical descriptions in its components."""
    from tools.prompting import build_prompt
    from tools.providers.registry import default_profile

    if not refs or shot.kind == "title":
        return shot
    comps = shot.components
    chars = [canonical(r) for r in refs if r.kind in ("character", "wardrobe", "prop")]
    envs = [canonical(r) for r in refs if r.kind == "environment"]
    styles = [canonical(r) for r in refs if r.kind == "style"]
    update: dict[str, str] = {}
    if chars:
        update["subject"] = "; ".join([*chars, comps.subject] if comps.subject else chars)
    if envs:
        update["environment"] = "; ".join([*envs, comps.environment] if comps.environment else envs)
    if styles:
        update["style"] = "; ".join([*styles, comps.style] if comps.style else styles)
    comps = comps.model_copy(update=update)
    profile = default_profile(shot.provider, shot.model)
    prompt = build_prompt(
        comps,
        shot.provider,
        dialogue=shot.dialogue,
        max_chars=profile.prompt_max_chars,
        model=shot.model,
        speaks=profile.native_audio,
    )
    return shot.model_copy(
        update={
            "components": comps,
            "reference_ids": list(dict.fromkeys([*shot.reference_ids, *(r.id for r in refs)])),
            "prompt": prompt,
        }
    )


def attach_references(
    production: Production, store: RefStore, project: str | None = None
) -> Production:
    """The post-planning pass: every live shot gets the references its description mentions,
    plus the look: the project's style references, or else the library style that matches the
    brief's style words (above the mention threshold)."""
    styles = [r for r in store.entries(project) if r.kind == "style"] if project else []
    if not styles:
        hits = store.search(production.brief.style, project, k=1, kind="style")
        styles = [h.reference for h in hits if h.similarity >= MENTION_THRESHOLD]
    scenes = []
    for scene in production.scenes:
        shots = []
        for shot in scene.shots:
            refs = resolve_mentions(shot.description, project, store)
            refs += [s for s in styles if s.id not in {r.id for r in refs}]
            shots.append(apply_references(shot, refs))
        scenes.append(scene.model_copy(update={"shots": shots}))
    return production.model_copy(update={"scenes": scenes})


def unreferenced_characters(shot: Shot) -> list[str]:
    """Names in the shot's description that none of its references carries: flag these."""
    if shot.kind == "title":
        return []
    covered = {word for ref_id in shot.reference_ids for word in ref_id.split("-")[:-1]}
    return [n for n in named_characters(shot.description) if n.lower() not in covered]


def reference_images(
    shot: Shot, lookup: Mapping[str, Reference] | Iterable[Reference], profile: CapabilityProfile
) -> list[Path]:
    """The image paths to send with `shot`, most important first, within the provider's limit."""
    table = lookup if isinstance(lookup, Mapping) else {r.id: r for r in lookup}
    refs = [table[i] for i in shot.reference_ids if i in table]
    refs.sort(key=lambda r: KIND_PRIORITY[r.kind])
    paths = [r.file for r in refs if r.file is not None and r.file.exists()]
    return paths[: profile.max_reference_images]


def has_reference_store(settings: Settings) -> bool:
    """A Chroma server is configured, or references were added to the embedded store."""
    return settings.chroma_url is not None or (settings.data_dir / "chroma").exists()


def with_references(
    production: Production,
    settings: Settings,
    project: str | None,
    refs: Callable[[], RefStore],
) -> Production:
    """`attach_references` when there is a reference store to read (a Chroma server, or an
    embedded store that references were added to); otherwise the production as it is, without
    starting Chroma or loading the embedding model."""
    if not has_reference_store(settings):
        return production
    return attach_references(production, refs(), project)


def reference_paths(
    shots: list[Shot], refs: Callable[[], RefStore], project: str
) -> dict[str, list[Path]]:
    """Shot id -> the reference images to send its provider, within the provider's limit."""
    wanted = {i for shot in shots for i in shot.reference_ids}
    if not wanted:
        return {}
    from tools.providers.registry import default_profile

    found = refs().get(wanted, project)
    return {
        shot.id: reference_images(shot, found, default_profile(shot.provider, shot.model))
        for shot in shots
        if shot.reference_ids
    }


def score_consistency(
    shots: list[Shot],
    takes: Mapping[str, list[Take]],
    store: ProjectStore,
    refs: Callable[[], RefStore],
    project: str,
) -> dict[str, str]:
    """Score each finished take of a shot that has references against them (and the style
    references) and fold it into the take's score, so takes are ranked by QC and consistency
    together. Returns the drift sentence of each shot's best take, where it drifts."""
    wanted = {i for shot in shots for i in shot.reference_ids}
    if not wanted:
        return {}
    from tools.consistency import rank_takes

    table = {r.id: r for r in refs().get(wanted, project)}
    drift: dict[str, str] = {}
    for shot in shots:
        mine = [table[i] for i in shot.reference_ids if i in table]
        done = [
            t
            for t in takes.get(shot.id, [])
            if t.status is TakeStatus.SUCCEEDED and t.file is not None and t.file.exists()
        ]
        if not mine or not done:
            continue
        styles = [r for r in mine if r.kind == "style"]
        others = [r for r in mine if r.kind != "style"]
        best: tuple[float, str | None] | None = None
        for take, consistency in rank_takes(done, others, styles):
            if not any(n.startswith("consistency ") for n in take.qc_notes):
                take.score = round(0.5 * (take.score or 0.0) + 0.5 * consistency.score, 4)
                take.qc_notes = [*take.qc_notes, f"consistency {consistency.score:.2f}"]
                if consistency.drift:
                    take.qc_notes.append(consistency.drift)
                store.save_take(take)
            if best is None or (take.score or 0.0) > best[0]:
                best = (take.score or 0.0, consistency.drift)
        if best is not None and best[1]:
            drift[shot.id] = best[1]
    return drift
