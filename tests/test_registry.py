"""The unit registry (config/<province>/units.csv): one unit id per raw name, never a guess."""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter

import pytest

from par_review.rawdata.registry import COLUMNS, MatchError, Registry, Unit, load_registry


@pytest.fixture(scope="module")
def reg(cfg):
    return load_registry(cfg.dir)


def unit(uid, name, aliases=(), level="provincial", district="", valid_from=2018, valid_to=None):
    return Unit(
        uid,
        level,
        "so_ban_nganh",
        "",
        district,
        name,
        tuple(aliases),
        valid_from,
        valid_to,
        (),
        "test",
    )


def test_roster_composition(reg):
    """44 provincial units 2018-2021 (21 sở/ngành, 8 districts, 6 ngành dọc, 9 ĐVSN), 43 in
    2022 after the simulated merger; 136 communes every year."""
    for year in range(2018, 2022):
        roster = reg.roster(year, "provincial")
        assert len(roster) == 44
        assert Counter(u.group for u in roster) == {
            "so_ban_nganh": 21,
            "ubnd_cap_huyen": 8,
            "nganh_doc": 6,
            "don_vi_su_nghiep": 9,
        }
    assert len(reg.roster(2022, "provincial")) == 43
    for year in range(2018, 2023):
        communes = reg.roster(year, "commune")
        assert len(communes) == 136
        assert len({u.district for u in communes}) == 8


def test_registry_file_is_well_formed(cfg, reg):
    with (cfg.dir / "units.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COLUMNS
    ids = [r["unit_id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        for col in ("name", "aliases", "district"):
            assert unicodedata.is_normalized("NFC", r[col]), (r["unit_id"], col)
        assert r["name"] == r["name"].strip() and "  " not in r["name"]
        years = range(int(r["valid_from"]), int(r["valid_to"] or r["valid_from"]) + 1)
        assert any(r["level"] in cfg.levels_for(y) for y in years), r["unit_id"]
        assert any(r["group"] in cfg.groups_for(y) for y in years), r["unit_id"]
        for pred in filter(None, r["successor_of"].split("|")):
            assert reg.resolve(pred) is not None, (r["unit_id"], pred)  # own or absorbed
        assert r["name_basis"] in {"known", "inferred", "assumed", "official"}


def test_merger_successor_and_validity(reg):
    merged = reg.by_id["p-bqlda-gtnn"]
    assert reg.predecessors("p-bqlda-gtnn") == ("p-bqlda-gt", "p-bqlda-nn")
    assert merged.valid_in(2022) and not merged.valid_in(2021)
    assert reg.by_id["p-bqlda-gt"].valid_in(2021) and not reg.by_id["p-bqlda-gt"].valid_in(2022)


@pytest.mark.parametrize(
    "raw,uid",
    [
        ("Sở Tư pháp", "p-so-tu-phap"),
        (unicodedata.normalize("NFD", "Sở Tư pháp"), "p-so-tu-phap"),
        ("  SỞ   TƯ PHÁP ", "p-so-tu-phap"),
        ("sở tư pháp", "p-so-tu-phap"),
        ("Sở\u00a0Tư\u00a0pháp", "p-so-tu-phap"),
        ("Văn phòng Ủy ban nhân dân tỉnh", "p-vp-ubnd"),
        ("Sở LĐ-TB&XH", "p-so-ldtbxh"),
        ("Sở Lao động, Thương binh và Xã hội", "p-so-ldtbxh"),
        ("Ngân hàng Nhà nước Chi nhánh tỉnh", "p-nhnn"),
    ],
)
def test_match_ignores_case_spacing_and_normalisation(reg, raw, uid):
    assert reg.match(raw, "provincial", 2022).unit_id == uid


def test_match_keeps_diacritics_and_never_guesses(reg):
    with pytest.raises(MatchError) as info:
        reg.match("So Tu phap", "provincial", 2022)  # diacritics are part of a name
    assert info.value.problem.startswith("unknown unit")
    assert info.value.candidates == ["Sở Tư pháp"]  # a hint, not a match
    with pytest.raises(MatchError, match="unknown"):
        reg.match(
            "Sở Du lịch và Thể thao", "provincial", 2022
        )  # close to two units: still no guess


def test_match_respects_level_and_years(reg):
    with pytest.raises(MatchError, match="unknown"):
        reg.match("Sở Tư pháp", "commune", 2022)
    assert (
        reg.match("Ban QLDA ĐTXD các công trình giao thông", "provincial", 2021).unit_id
        == "p-bqlda-gt"
    )
    with pytest.raises(MatchError, match="unknown"):
        reg.match("Ban QLDA ĐTXD các công trình giao thông", "provincial", 2022)
    with pytest.raises(MatchError, match="unknown"):
        reg.match("Ban QLDA ĐTXD các công trình giao thông và nông nghiệp", "provincial", 2021)


def test_ambiguous_name_is_an_error_unless_the_district_tells(reg):
    with pytest.raises(MatchError) as info:
        reg.match("Vạn Thắng", "commune", 2022)
    assert info.value.problem.startswith("ambiguous")
    assert sorted(info.value.candidates) == ["c-22345 (Phường Vạn Thắng)", "c-22516 (Xã Vạn Thắng)"]
    assert reg.match("Vạn Thắng", "commune", 2022, "Huyện Vạn Ninh").unit_id == "c-22516"
    assert reg.match("Vạn Thắng", "commune", 2022, " thành phố  NHA TRANG").unit_id == "c-22345"
    # a district that fits neither keeps it ambiguous (no guess)
    with pytest.raises(MatchError, match="ambiguous"):
        reg.match("Vạn Thắng", "commune", 2022, "Huyện Cam Lâm")
    # the official names are distinct
    assert reg.match("Xã Vạn Thắng", "commune", 2022).unit_id == "c-22516"


def test_alias_shared_by_two_units_is_ambiguous():
    r = Registry([unit("a", "Sở A", ["Sở chung"]), unit("b", "Sở B", ["SỞ  CHUNG"])])
    with pytest.raises(MatchError, match="ambiguous") as info:
        r.match("sở chung", "provincial", 2020)
    assert len(info.value.candidates) == 2
    # ... but not once one of them has left the roster
    r2 = Registry(
        [
            unit("a", "Sở A", ["Sở chung"], valid_to=2019),
            unit("b", "Sở B", ["Sở chung"], valid_from=2020),
        ]
    )
    assert r2.match("Sở chung", "provincial", 2020).unit_id == "b"
    assert r2.match("Sở chung", "provincial", 2019).unit_id == "a"


def test_duplicate_unit_id_is_rejected():
    with pytest.raises(ValueError, match="duplicate unit_id"):
        Registry([unit("a", "Sở A"), unit("a", "Sở B")])


def test_load_normalises_names(tmp_path):
    p = tmp_path / "units.csv"
    with p.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerow(
            [
                "x-1",
                "commune",
                "xa",
                "1",
                unicodedata.normalize("NFD", "Huyện Hòa"),
                unicodedata.normalize("NFD", "Xã  Hòa Bình"),
                "Hòa Bình|",
                "2019",
                "2021",
                "",
                "official",
                "",
            ]
        )
    r = Registry.load(p)
    u = r.by_id["x-1"]
    assert u.name == "Xã Hòa Bình" and u.district == "Huyện Hòa" and u.aliases == ("Hòa Bình",)
    assert (u.valid_from, u.valid_to) == (2019, 2021)
    assert [x.unit_id for x in r.roster(2020, "commune")] == ["x-1"]
    assert r.roster(2022, "commune") == []


def test_match_ignores_spacing_around_punctuation(reg):
    assert (
        reg.match("Sở Lao động-Thương binh và Xã hội", "provincial", 2022).unit_id == "p-so-ldtbxh"
    )
    assert reg.match("Sở LĐ - TB & XH", "provincial", 2022).unit_id == "p-so-ldtbxh"
