"""Both sets of language data, the generator's phrases and the emulator's lexicons, read by one parser.

``shared.language_data.parse_entries`` is the only reader of the line format; these tests run it over
every file of both sets, so a file the tools would load differently (or not at all) fails here.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

import pytest

from devtools.dataset.phrases import ASSISTANT_PARTS, USER_PARTS
from emulator.lexicon import KEYS as LEXICON_KEYS
from emulator.lexicon import read_table
from shared.analysis import CATEGORY_CODES, LANGUAGES
from shared.language_data import MARKERS, Entry, parse_entries

LEXICONS = resources.files("emulator") / "lexicons"
PHRASES = resources.files("devtools.dataset") / "phrases_data"
PHRASE_KEYS = {*CATEGORY_CODES, *USER_PARTS, *ASSISTANT_PARTS}


def files(folder: Traversable) -> dict[str, Traversable]:
    return {f.name.removesuffix(".txt"): f for f in folder.iterdir() if f.name.endswith(".txt")}


def entries(file: Traversable) -> list[Entry]:
    return parse_entries(file.read_text(encoding="utf-8"), file.name)


@pytest.mark.parametrize("folder", [LEXICONS, PHRASES], ids=["lexicons", "phrases"])
def test_each_set_has_one_file_per_supported_language(folder: Traversable) -> None:
    assert sorted(files(folder)) == sorted(LANGUAGES)
    assert len(LANGUAGES) == 24


@pytest.mark.parametrize("lang", LANGUAGES)
def test_lexicon_file_parses_with_model_token_entries_only(lang: str) -> None:
    found = entries(LEXICONS / f"{lang}.txt")
    assert found
    assert {e.marker for e in found} == {":"}
    assert {e.key for e in found} <= LEXICON_KEYS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_phrase_file_parses_with_employee_and_assistant_lines_only(lang: str) -> None:
    found = entries(PHRASES / f"{lang}.txt")
    assert {e.marker for e in found} == {"?", "!"}
    assert {e.key for e in found} <= PHRASE_KEYS
    assert all(e.text.strip() == e.text and e.text for e in found)


@pytest.mark.parametrize("folder", [LEXICONS, PHRASES], ids=["lexicons", "phrases"])
def test_every_line_is_an_entry_a_continuation_or_a_comment(folder: Traversable) -> None:
    """What the parser skips is only blank and ``#`` lines: nothing else can silently vanish."""
    for file in files(folder).values():
        text = file.read_text(encoding="utf-8")
        starts = {e.line for e in parse_entries(text, file.name)}
        for lineno, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or line[0].isspace():
                continue
            assert lineno in starts, f"{file.name}:{lineno}"
            assert line.split(" ", 1)[0][-1] in MARKERS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_category_has_model_tokens_in_every_lexicon_language(lang: str) -> None:
    table = read_table(lang, (LEXICONS / f"{lang}.txt").read_text(encoding="utf-8"))
    for code in CATEGORY_CODES:
        if code == "other":  # UNRECOGNIZED_OTHER is what no keyword matched: it has none of its own
            assert code not in table
        else:
            assert table.get(code), f"{lang}: no tokens for {code}"
    for key in ("stopwords", "positive", "negative", "negators"):
        assert table.get(key), f"{lang}: no {key}"


def test_parser_continuations_comments_and_blank_lines() -> None:
    text = (
        "# heading\n\nsched: shift\n  roster   rota\nsched? When is my shift?\n  # a comment\nleave! Fine.\n"
    )
    assert parse_entries(text, "t") == [
        Entry("sched", ":", "shift roster   rota", 3),
        Entry("sched", "?", "When is my shift?", 5),
        Entry("leave", "!", "Fine.", 7),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("  shift roster\n", "t:1: continuation line before any entry"),
        ("sched shift\n", "t:1: expected"),
        ("sched:\n", "t:1: expected"),
        ("sched;x y\n", "t:1: expected"),
        ("sched: ok\nbad-key: x\n", "t:2: expected"),
    ],
)
def test_parser_rejects_malformed_lines(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_entries(text, "t")


def test_lexicon_reader_rejects_other_markers_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"x\.txt:1"):
        read_table("x", "sched? When is my shift?\n")
    with pytest.raises(ValueError, match=r"x\.txt:2"):
        read_table("x", "sched: shift\nweather: rain\n")
