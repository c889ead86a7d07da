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


# --------------------------------------------------------------------------- lineage
LINEAGE_HEADER = COLUMNS


def _write_units(d, rows):
    d.mkdir(parents=True, exist_ok=True)
    with (d / "units.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            uid, level, name, vf, vt, succ = r
            w.writerow([uid, level, "g", "", "", name, "", vf, vt, succ, "assumed", ""])


def _lineage_project(tmp_path, own_rows, other_rows=None):
    """config/tinh_a (absorbing tinh_b from 2025 when other_rows is given)."""
    import yaml

    cfg = tmp_path / "config"
    data = {
        "id": "tinh_a",
        "name": {"vi": "Tỉnh A"},
        "tiers": [{"id": "tot", "label": {"vi": "Tốt"}}, {"id": "kem", "label": {"vi": "Kém"}}],
        "bands": {"default": {"tot": 80, "kem": 0}},
        "levels": {"commune": {"label": {"vi": "cấp xã"}}},
    }
    if other_rows is not None:
        data["absorbed"] = [{"province": "tinh_b", "from": 2025}]
        _write_units(cfg / "tinh_b", other_rows)
        (cfg / "tinh_b" / "province.yml").write_text(
            yaml.safe_dump(
                {**data, "id": "tinh_b", "name": {"vi": "Tỉnh B"}, "absorbed": []},
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
    _write_units(cfg / "tinh_a", own_rows)
    (cfg / "tinh_a" / "province.yml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    return cfg / "tinh_a"


OLD = [
    ("x1", "commune", "Xã Một", 2020, 2024, ""),
    ("x2", "commune", "Xã Hai", 2020, 2024, ""),
    ("x3", "commune", "Xã Ba", 2020, 2024, ""),
    ("x4", "commune", "Xã Bốn", 2020, 2024, ""),
    ("x5", "commune", "Xã Năm", 2020, "", ""),
]


def test_merger_split_rename_end_and_absorbed_predecessors(tmp_path):
    d = _lineage_project(
        tmp_path,
        [
            *OLD,
            ("m", "commune", "Xã Mới Hợp", 2025, "", "x1|x2|tinh_b:b1"),  # many into one
            ("s1", "commune", "Phường Tách Một", 2025, "", "x3"),  # one split into two
            ("s2", "commune", "Phường Tách Hai", 2025, "", "x3"),
            ("r", "commune", "Xã Đổi Tên", 2025, "", "tinh_b:b2"),  # a rename across provinces
            ("n", "commune", "Đặc khu Mới", 2025, "", ""),
            ("t", "commune", "Ban Mới", 2025, "", "tinh_b:b3"),
        ],
        [
            ("b1", "commune", "Xã Bê Một", 2020, 2024, ""),
            ("b2", "commune", "Xã Bê Hai", 2020, 2024, ""),
            ("b3", "commune", "Ban Dân tộc tỉnh B", 2020, 2024, ""),  # its name says its province
        ],
    )
    reg = load_registry(d)
    assert sorted(reg.absorbed) == ["tinh_b"]
    assert reg.predecessors("m") == ("x1", "x2", "tinh_b:b1")
    assert reg.successors("x3") == ("s1", "s2")
    assert reg.successors("tinh_b:b1") == ("m",)
    assert reg.successors("x4") == ()  # ended: no successor
    assert {u: reg.relation(u, 2025) for u in ("m", "s1", "s2", "r", "n", "x5")} == {
        "m": "merged",
        "s1": "split",
        "s2": "split",
        "r": "renamed",
        "n": "new",
        "x5": "continued",
    }
    assert reg.relation("m", 2026) == "continued"  # the year after, it is the same unit
    assert reg.lineage_names("m") == ["Xã Một", "Xã Hai", "Xã Bê Một (Tỉnh B)"]
    assert reg.lineage_names("r") == ["Xã Bê Hai (Tỉnh B)"]
    assert reg.lineage_names("t") == ["Ban Dân tộc tỉnh B"]  # not "… tỉnh B (Tỉnh B)"
    assert [p["province"] for p in reg.lineage("m")] == [None, None, "tinh_b"]


@pytest.mark.parametrize(
    ("row", "found", "problem"),
    [
        (("m", "commune", "Xã Mới", 2025, "", "x1|x9"), "x9", "unknown predecessor"),
        (("m", "commune", "Xã Mới", 2025, "", "tinh_b:zz"), "tinh_b:zz", "not in config/tinh_b"),
        (("m", "commune", "Xã Mới", 2025, "", "tinh_c:b1"), "tinh_c:b1", "not an absorbed"),
        (("m", "commune", "Xã Mới", 2025, "", "x5"), "x5", "still valid"),  # x5 never ended
        (("m", "commune", "Xã Mới", 2024, "", "x1"), "x1", "still valid"),  # x1 ends 2024
    ],
)
def test_a_bad_predecessor_is_an_input_error_naming_file_row_and_id(tmp_path, row, found, problem):
    from par_review.errors import InputError

    d = _lineage_project(tmp_path, [*OLD, row], [("b1", "commune", "Xã Bê", 2020, 2024, "")])
    with pytest.raises(InputError) as info:
        load_registry(d)
    e = info.value
    assert str(e.file) == "config/tinh_a/units.csv"
    assert e.row == len(OLD) + 2  # the CSV line: header is line 1
    assert (e.column, e.found) == ("successor_of", found)
    assert problem in e.problem
    assert "config/tinh_a/units.csv or tinh_b:<id> valid before" in e.expected


def test_a_lineage_cycle_is_rejected(tmp_path):
    from par_review.errors import InputError

    d = _lineage_project(
        tmp_path,
        [
            ("a", "commune", "Xã A", 2020, 2021, "c"),
            ("b", "commune", "Xã B", 2022, 2023, "a"),
            ("c", "commune", "Xã C", 2024, "", "b"),
        ],
    )
    with pytest.raises(InputError, match="cycle") as info:
        load_registry(d)
    assert info.value.column == "successor_of" and info.value.row in (2, 3, 4)


def test_a_missing_absorbed_registry_is_named(tmp_path):
    from par_review.errors import InputError

    d = _lineage_project(tmp_path, OLD, [])
    (tmp_path / "config" / "tinh_b" / "units.csv").unlink()
    with pytest.raises(InputError, match="absorbed by tinh_a") as info:
        load_registry(d)
    assert str(info.value.file) == "config/tinh_b/units.csv"
