"""The audit's vocabulary is data: the phrase syntax of vocabulary.yml, every phrase in it
compiles, and a new wording is an edit of the file, not of the code."""

from __future__ import annotations

import re

import pytest
import yaml

from par_review.audit import NOT_CHECKED, OK, Facts, LevelYear, audit_text, claims, vocabulary
from par_review.audit.vocabulary import VOCABULARY_FILE, any_rx, phrase_rx


@pytest.mark.parametrize(
    ("phrase", "matches", "misses"),
    [
        ("xã, phường, đặc khu", ["xã, phường, đặc khu", "xã,phường,  đặc khu"], ["xã phường"]),
        ("khối (các) (cơ quan) sở", ["khối sở", "khối các cơ quan sở", "khối cơ quan sở"], []),
        ("(ubnd) cấp xã", ["cấp xã", "ubnd cấp xã"], ["ubnd xã"]),
        ("năm thứ {n} liên tiếp", ["năm thứ 3 liên tiếp", "năm thứ ba liên tiếp"], []),
        ("điểm %", ["điểm %", "điểm%"], ["điểm"]),
        ("mục tiêu năm {year}", ["mục tiêu năm 2025"], ["mục tiêu năm 25"]),
    ],
)
def test_phrase_syntax(phrase, matches, misses):
    rx = re.compile(rf"^{phrase_rx(phrase, 'n')}$", re.IGNORECASE)
    assert all(rx.match(t) for t in matches), [t for t in matches if not rx.match(t)]
    assert not any(rx.match(t) for t in misses)


def test_longest_phrase_wins_at_a_position():
    m = re.match(any_rx(["xã, phường", "xã, phường, đặc khu"]), "xã, phường, đặc khu Phú Quý")
    assert m.group(0) == "xã, phường, đặc khu"


def test_every_phrase_of_the_vocabulary_compiles():
    data = yaml.safe_load(VOCABULARY_FILE.read_text(encoding="utf-8"))

    def phrases(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for x in node:
                yield from phrases(x)
        elif isinstance(node, dict):
            for k, x in node.items():
                if k not in ("numbers",):
                    yield from phrases(x)

    for p in phrases(data):
        if p:  # the empty generic noun
            re.compile(phrase_rx(p, "n"))
    assert claims.patterns(("tốt",)).count.pattern


@pytest.fixture
def edited_vocabulary(tmp_path, monkeypatch):
    """A copy of vocabulary.yml to edit; the caches are cleared before and after."""
    path = tmp_path / "vocabulary.yml"
    path.write_text(VOCABULARY_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(vocabulary, "VOCABULARY_FILE", path)

    def clear():
        vocabulary.vocabulary.cache_clear()
        claims.patterns.cache_clear()

    clear()
    yield path
    monkeypatch.undo()
    clear()


def test_a_new_level_word_is_a_data_change(edited_vocabulary):
    tiers = ("tot", "kha")
    facts = Facts(
        year=2025,
        tiers=tiers,
        tier_labels={"tot": "Tốt", "kha": "Khá"},
        history={"commune": {2025: LevelYear(65, {"tot": 18, "kha": 47})}},
    )
    text = "Đối với các đơn vị hành chính cơ sở: 18/65 đơn vị xếp hạng Tốt."
    assert {f.verdict for f in audit_text(text, facts)} == {NOT_CHECKED}
    data = yaml.safe_load(edited_vocabulary.read_text(encoding="utf-8"))
    data["levels"]["commune"]["cues"].append("đơn vị hành chính cơ sở")
    edited_vocabulary.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    vocabulary.vocabulary.cache_clear()
    claims.patterns.cache_clear()
    fs = audit_text(text, facts)
    assert [(f.figure, f.level, f.verdict) for f in fs] == [
        ("count", "commune", OK),
        ("total", "commune", OK),
    ]
