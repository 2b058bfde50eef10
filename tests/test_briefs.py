from __future__ import annotations

from pathlib import Path

import pytest

from memory.briefs import BriefError, load_brief, parse_brief
from tests.conftest import EXAMPLES

GOOD = {
    "title": "T",
    "story": "A girl on a roof.",
    "mood": "calm",
    "style": "cinematic",
    "duration": 6,
    "formats": ["9:16"],
    "audience": "everyone",
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    brief = load_brief(path)
    assert brief.formats and brief.duration > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"titel": "x"}, "unknown key 'titel' (did you mean 'title'?)"),
        ({"duration": -3}, "duration: Input should be greater than or equal to 1"),
        ({"formats": ["4:3"]}, "unknown format '4:3' in 'formats'"),
        ({"music": "nope.mp3"}, "music file not found"),
        ({"scenes": [{"descripton": "x"}]}, "unknown key 'scenes.0.descripton'"),
        ({"scenes": [{"description": "a", "duration": 9}]}, "more than the brief's 6s"),
        ({"scenes": [{"description": "a", "provider": "sora"}]}, "unknown provider 'sora'"),
    ],
)
def test_bad_briefs_name_the_problem(
    change: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(BriefError, match=None) as err:
        parse_brief({**GOOD, **change}, base_dir=tmp_path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_is_named() -> None:
    data = dict(GOOD)
    del data["audience"]
    with pytest.raises(BriefError, match="missing key 'audience'"):
        parse_brief(data)


def test_empty_and_non_yaml_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(BriefError, match="empty"):
        load_brief(empty)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("title: [unclosed\n  : : :")
    with pytest.raises(BriefError, match="not valid YAML"):
        load_brief(garbage)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(BriefError, match="not a text file"):
        load_brief(binary)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(BriefError, match="mapping"):
        load_brief(listy)


def test_music_path_resolves_against_the_brief(tmp_path: Path) -> None:
    (tmp_path / "song.wav").write_bytes(b"RIFF")
    brief = parse_brief({**GOOD, "music": "song.wav"}, base_dir=tmp_path)
    assert brief.music == (tmp_path / "song.wav").resolve()


def test_single_format_string_is_accepted() -> None:
    assert parse_brief({**GOOD, "formats": "16:9"}).formats == ["16:9"]
