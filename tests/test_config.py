"""Province configuration is data: Khánh Hòa's file, its checks, and another province with
other bands and five other tier names that works as a new folder with no code change."""

from __future__ import annotations

import copy
import csv
import textwrap

import pytest
import yaml

from par_review.clean.tables import clean_year, read_processed
from par_review.config import ConfigError, load_config
from par_review.paths import Paths
from par_review.rawdata.registry import COLUMNS


def test_khanh_hoa_tiers_bands_and_labels(cfg):
    assert cfg.id == "khanh_hoa"
    assert cfg.tier_ids == ["tot", "kha", "trung_binh", "yeu"]
    assert [t.label("vi") for t in cfg.tiers] == ["Tốt", "Khá", "Trung bình", "Yếu"]
    assert [t.label("en") for t in cfg.tiers] == ["Good", "Fair", "Average", "Weak"]
    assert cfg.tier_rank("tot") == 0 and cfg.tier_rank("yeu") == 3
    assert [(b.tier, b.min_score) for b in cfg.bands(2022, "commune")] == [
        ("tot", 85),
        ("kha", 70),
        ("trung_binh", 50),
        ("yeu", 0),
    ]


@pytest.mark.parametrize(
    "score,tier",
    [
        (100, "tot"),
        (85.0, "tot"),
        (84.99, "kha"),
        (70.0, "kha"),
        (69.99, "trung_binh"),
        (50.0, "trung_binh"),
        (49.99, "yeu"),
        (0, "yeu"),
    ],
)
def test_khanh_hoa_tier_for_score(cfg, score, tier):
    assert cfg.tier_for_score(score, 2022, "provincial") == tier


def test_khanh_hoa_areas_groups_targets(cfg):
    for level in ("provincial", "commune"):
        assert sum(a.max for a in cfg.areas(level)) == pytest.approx(100.0)
        assert all(a.column.startswith("area_") for a in cfg.areas(level))
    assert set(cfg.groups) == {
        "so_ban_nganh",
        "ubnd_cap_huyen",
        "nganh_doc",
        "don_vi_su_nghiep",
        "xa",
    }
    assert cfg.group_label("nganh_doc", "vi") == "Cơ quan ngành dọc"
    assert cfg.group_label("unknown") == "unknown"
    assert cfg.targets(2022)["satisfaction"]["value"] == 83.0
    assert cfg.targets(2022)["satisfaction"]["group"] == "so_ban_nganh"
    assert cfg.targets(2019) == {}
    assert cfg.rounding["decimals"] == 2
    assert cfg.level_label("commune", "en") == "commune People's Committees"
    assert cfg.tier_lookup()["tot"] == "tot" and cfg.tier_lookup()["trung binh"] == "trung_binh"


def write_config(root, province, data, units_rows=()):
    d = root / "config" / province
    d.mkdir(parents=True, exist_ok=True)
    (d / "province.yml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with (d / "units.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(units_rows)
    return Paths.from_root(root)


FIVE_TIERS = [
    {"id": "xuat_sac", "label": {"vi": "Xuất sắc", "en": "Excellent"}},
    {"id": "tot", "label": {"vi": "Tốt", "en": "Good"}},
    {"id": "kha", "label": {"vi": "Khá", "en": "Fair"}},
    {"id": "trung_binh", "label": {"vi": "Trung bình", "en": "Average"}, "aliases": ["TB"]},
    {"id": "kem", "label": {"vi": "Kém", "en": "Poor"}},
]


def other_province():
    return copy.deepcopy(
        {
            "id": "tinh_mau",
            "name": {"vi": "Tỉnh Mẫu", "en": "Sample Province"},
            "tiers": FIVE_TIERS,
            "bands": {
                "default": {"xuat_sac": 90, "tot": 80, "kha": 65, "trung_binh": 50, "kem": 0},
                "by_year": {
                    2023: {
                        "commune": {
                            "xuat_sac": 95,
                            "tot": 85,
                            "kha": 70,
                            "trung_binh": 55,
                            "kem": 0,
                        }
                    }
                },
            },
            "levels": {
                "provincial": {"label": {"vi": "cấp tỉnh"}, "input": "so_nganh"},
                "commune": {"label": {"vi": "cấp xã"}, "input": "cap_xa"},
            },
            "groups": {"so": {"vi": "Sở"}, "xa": {"vi": "Xã"}},
            "areas": {
                "provincial": [
                    {"id": "a", "label": {"vi": "Lĩnh vực A"}, "max": 60},
                    {"id": "b", "label": {"vi": "Lĩnh vực B"}, "max": 40},
                ],
                "commune": [{"id": "a", "label": {"vi": "Lĩnh vực A"}, "max": 100}],
            },
            "columns": {
                "stt": ["STT"],
                "unit_name": ["Đơn vị"],
                "district": ["Huyện"],
                "score": ["Điểm (%)"],
                "tier": ["Xếp loại"],
            },
            "total_row_labels": ["Cộng"],
        }
    )


UNITS = [
    ["s-1", "provincial", "so", "", "", "Sở Một", "", "2020", "", "", "assumed", ""],
    ["s-2", "provincial", "so", "", "", "Sở Hai", "Sở 2", "2020", "", "", "assumed", ""],
    ["x-1", "commune", "xa", "1", "Huyện Đông", "Xã An Bình", "", "2020", "", "", "assumed", ""],
    ["x-2", "commune", "xa", "1", "Huyện Đông", "Xã Kém Xa", "", "2020", "", "", "assumed", ""],
]


def write_raw(paths, year, stem, text):
    d = paths.raw_year(year)
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.csv").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def test_another_province_with_five_tiers_is_a_new_folder(tmp_path):
    paths = write_config(tmp_path, "tinh_mau", other_province(), UNITS)
    cfg = load_config("tinh_mau", paths)
    assert cfg.tier_ids == ["xuat_sac", "tot", "kha", "trung_binh", "kem"]
    assert cfg.tier_for_score(92, 2022, "commune") == "xuat_sac"
    assert cfg.tier_for_score(92, 2023, "commune") == "tot"  # 2023 communes: stricter bands
    assert cfg.tier_for_score(92, 2023, "provincial") == "xuat_sac"  # 2023 provincial: the default
    assert cfg.tier_for_score(40, 2023, "commune") == "kem"
    write_raw(
        paths,
        2023,
        "so_nganh",
        """
        KẾT QUẢ CHỈ SỐ CCHC NĂM 2023
        STT,Đơn vị,Lĩnh vực A,Lĩnh vực B,Điểm (%),Xếp loại
        1,SỞ MỘT,"55,5","40,0","95,5%",XUẤT SẮC
        2,Sở 2,"30,0","20,0","50,0%",tb
        ,Cộng,,,"72,75",
        """,
    )
    write_raw(
        paths,
        2023,
        "cap_xa",
        """
        STT,Đơn vị,Huyện,Lĩnh vực A,Điểm (%),Xếp loại
        1,Xã An Bình,Huyện Đông,"88,0","88,0",Tốt
        2,xã kém xa,Huyện Đông,"41,2","41,2",Kém
        """,
    )
    result = clean_year(2023, paths, "tinh_mau")
    prov = read_processed(paths, 2023, "provincial")
    assert prov["unit_id"].tolist() == ["s-1", "s-2"]
    assert prov["tier"].tolist() == ["xuat_sac", "trung_binh"]
    assert prov["area_b"].tolist() == [40.0, 20.0]
    com = read_processed(paths, 2023, "commune")
    assert com["tier"].tolist() == ["tot", "kem"]
    assert com["unit_name"].tolist() == ["Xã An Bình", "Xã Kém Xa"]
    assert list(com.columns)[:8] == [
        "year",
        "level",
        "unit_id",
        "unit_name",
        "group",
        "district",
        "score",
        "area_a",
    ]
    assert result.inputs["provincial"] == "data/raw/tinh_mau/2023/so_nganh.csv"
    assert "satisfaction" not in result.tables
    # the Khánh Hòa vocabulary is not baked in: "Yếu" is not a tier here
    write_raw(
        paths,
        2023,
        "cap_xa",
        """
        STT,Đơn vị,Huyện,Lĩnh vực A,Điểm (%),Xếp loại
        1,Xã An Bình,Huyện Đông,"40,0","40,0",Yếu
        """,
    )
    from par_review.errors import InputError

    with pytest.raises(InputError, match="unknown tier") as info:
        clean_year(2023, paths, "tinh_mau")
    assert "Xuất sắc / Tốt / Khá / Trung bình / Kém" in str(info.value)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d["bands"]["default"].update(kha=85), "must decrease"),
        (lambda d: d["bands"]["default"].pop("kem"), "lack tiers"),
        (lambda d: d["bands"]["by_year"][2023]["commune"].pop("tot"), "2023/commune lack tiers"),
        (lambda d: d["tiers"].append({"id": "kha", "label": {"vi": "Khá 2"}}), "unique"),
        (lambda d: d["tiers"][4].update(aliases=["kha"]), "reads the same"),
        (lambda d: d.pop("levels"), "missing key"),
    ],
)
def test_inconsistent_config_is_refused(tmp_path, change, message):
    data = other_province()
    change(data)
    paths = write_config(tmp_path, "tinh_mau", data)
    with pytest.raises(ConfigError, match=message):
        load_config("tinh_mau", paths)


def test_bands_given_for_every_year_without_default(tmp_path):
    data = other_province()
    data["bands"] = {
        "by_year": {2022: {"xuat_sac": 90, "tot": 80, "kha": 65, "trung_binh": 50, "kem": 0}}
    }
    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", data))
    assert cfg.tier_for_score(85, 2022, "commune") == "tot"


def test_missing_province_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no configuration for province 'nowhere'"):
        load_config("nowhere", Paths.from_root(tmp_path))


# --------------------------------------------------------------------------- structure over time
def merged_province():
    """A province that absorbs another in 2025, abolishes its districts and changes
    its levels, groups, areas, bands and wording from that year: config only."""
    d = other_province()
    d["wording"] = {"vi": {"results.intro.commune": "Cấp xã do UBND huyện chấm"}}
    d["levels"]["commune"]["scored_by"] = {"vi": "UBND cấp huyện", "en": "the districts"}
    d["levels"]["commune"]["group_by"] = "district"
    d["absorbed"] = [{"province": "tinh_cu", "from": 2025}]
    d["structure"] = [
        {
            "from": 2025,
            "label": {"vi": "Hợp nhất", "en": "Merger"},
            "levels": {
                "provincial": d["levels"]["provincial"],
                "commune": {
                    "label": {"vi": "cấp xã mới"},
                    "input": "cap_xa",
                    "group_by": None,
                    "scored_by": {"vi": "UBND tỉnh", "en": "the province"},
                },
                "dac_khu": {"label": {"vi": "đặc khu"}, "input": "dac_khu", "group_by": None},
            },
            "groups": {"so": {"vi": "Sở"}, "xa": {"vi": "Xã"}, "phuong": {"vi": "Phường"}},
            "areas": {  # replaced as a whole: the unchanged provincial areas are repeated
                "provincial": d["areas"]["provincial"],
                "commune": [
                    {"id": "a", "label": {"vi": "Lĩnh vực A"}, "max": 60},
                    {"id": "c", "label": {"vi": "Lĩnh vực C"}, "max": 40},
                ],
            },
            "bands": {
                "default": {"xuat_sac": 92, "tot": 82, "kha": 66, "trung_binh": 50, "kem": 0}
            },
            "wording": {"vi": {"results.intro.commune": "Cấp xã do UBND tỉnh chấm"}},
            "comparability": {
                "provincial": {"basis": "matched_units", "reason": {"vi": "Qua nguồn gốc"}},
                "commune": {"basis": "combined_baseline", "reason": {"vi": "Gộp hai tỉnh"}},
            },
        },
        {"from": 2027, "wording": {"en": {"results.intro.commune": "Communes"}}},
    ]
    return d


def test_structure_over_time_is_configuration(tmp_path):
    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", merged_province()))
    assert list(cfg.levels_for(2024)) == ["provincial", "commune"]
    assert list(cfg.levels_for(2025)) == ["provincial", "commune", "dac_khu"]
    assert list(cfg.levels_for(2030)) == ["provincial", "commune", "dac_khu"]  # later: same
    assert cfg.all_levels() == ["provincial", "commune", "dac_khu"]
    assert set(cfg.groups_for(2024)) == {"so", "xa"} and "phuong" in cfg.groups_for(2026)
    assert cfg.group_label("phuong") == "Phường"  # a later structure's group still has its label
    assert [a.id for a in cfg.areas("commune", 2024)] == ["a"]
    assert [(a.id, a.max) for a in cfg.areas("commune", 2025)] == [("a", 60.0), ("c", 40.0)]
    assert [a.id for a in cfg.areas("commune")] == ["a"]  # no year: the top-level default
    assert cfg.tier_for_score(91, 2024, "commune") == "xuat_sac"
    assert cfg.tier_for_score(91, 2025, "commune") == "tot"  # the 2025 structure's bands
    assert cfg.group_by("commune", 2024) == "district" and cfg.group_by("commune", 2025) is None
    assert cfg.scored_by("commune", 2024, "en") == "the districts"
    assert cfg.scored_by("commune", 2025, "vi") == "UBND tỉnh"
    assert cfg.level_label("commune", "vi", 2025) == "cấp xã mới"
    assert cfg.level_label("commune", "vi", 2024) == "cấp xã"
    assert cfg.structure_for(2024) is None and cfg.structure_break(2026) is None
    assert cfg.structure_for(2026)["from"] == 2025 and cfg.structure_break(2025)["from"] == 2025
    assert cfg.structure_label(2025, "en") == "Merger"
    assert cfg.wording(2024, "vi") == {"results.intro.commune": "Cấp xã do UBND huyện chấm"}
    assert cfg.wording(2025, "vi") == {"results.intro.commune": "Cấp xã do UBND tỉnh chấm"}
    assert cfg.wording(2027, "en") == {"results.intro.commune": "Communes"}
    assert cfg.absorbed_in(2024) == [] and cfg.absorbed_in(2026) == ["tinh_cu"]
    assert cfg.baseline_provinces(2025) == ["tinh_cu"] and cfg.baseline_provinces(2026) == []


def test_comparability_per_level_and_year(tmp_path):
    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", merged_province()))
    assert cfg.comparability(2024, "commune") == {"basis": "same_set", "reason": None}
    assert cfg.comparability(2025, "provincial")["basis"] == "matched_units"
    c = cfg.comparability(2025, "commune")
    assert c == {"basis": "combined_baseline", "reason": {"vi": "Gộp hai tỉnh"}}
    new = cfg.comparability(2025, "dac_khu")  # did not exist in 2024
    assert new["basis"] == "not_comparable" and "2024" in new["reason"]["en"]
    assert cfg.comparability(2026, "dac_khu")["basis"] == "same_set"
    # the structure the streaks stop at
    assert cfg.structure_start(2024, "commune") is None
    assert cfg.structure_start(2026, "commune") == 2025
    assert cfg.structure_start(2027, "dac_khu") == 2025


def test_a_structure_change_without_a_basis_is_not_compared(tmp_path):
    data = merged_province()
    del data["structure"][0]["comparability"]["commune"]
    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", data))
    c = cfg.comparability(2025, "commune")
    assert c["basis"] == "not_comparable"
    assert "structure[0].comparability.commune" in c["reason"]["en"]
    # a wording-only entry changes nothing that is compared
    data = other_province()
    data["structure"] = [{"from": 2024, "wording": {"vi": {"x": "y"}}}]
    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", data))
    assert cfg.comparability(2024, "commune")["basis"] == "same_set"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["structure"][0].update({"from": "năm sau"}), "structure[0].from"),
        (lambda d: d["structure"][1].update({"from": 2025}), "structure[1].from"),
        (
            lambda d: d["structure"][0]["comparability"]["commune"].update(basis="roughly"),
            "structure[0].comparability.commune.basis",
        ),
        (
            lambda d: d["structure"][0]["comparability"].update(
                dac_khu={"basis": "matched_units", "reason": {"vi": "x"}}
            ),
            "structure[0].comparability.dac_khu.basis",
        ),
        (
            lambda d: d["structure"][0]["comparability"]["provincial"].pop("reason"),
            "structure[0].comparability.provincial.reason",
        ),
        (
            lambda d: d["structure"][0]["levels"]["commune"].update(group_by="tinh"),
            "structure[0].levels.commune.group_by",
        ),
        (lambda d: d["structure"][0].update(levls={}), "structure[0]: unknown keys"),
        (lambda d: d["absorbed"].append({"province": "../x", "from": 2025}), "absorbed[1]"),
        (lambda d: d["absorbed"][0].pop("from"), "absorbed[0]"),
        (lambda d: d["structure"][0]["bands"]["default"].pop("kem"), "lack tiers"),
    ],
)
def test_structure_errors_name_the_file_and_the_key(tmp_path, change, key):
    data = merged_province()
    change(data)
    paths = write_config(tmp_path, "tinh_mau", data)
    with pytest.raises(ConfigError) as info:
        load_config("tinh_mau", paths)
    assert key in str(info.value)
    assert "province.yml" in str(info.value)


@pytest.mark.parametrize(
    "where, key, hint",
    [
        ("province", "sections.key_figure", "did you mean sections.key_figures"),
        ("structure", "structure.new", "structure.new.one, structure.new.other"),
    ],
)
def test_a_wording_key_that_is_no_text_is_an_error_naming_it(tmp_path, where, key, hint):
    # a misspelt key, or one whose text has one:/other: forms, would otherwise change nothing
    data = merged_province()
    if where == "province":
        data["wording"]["en"] = {key: "Key figures"}
        named = f"wording.en.{key}"
    else:
        data["structure"][0]["wording"]["en"] = {key: "{n} new units."}
        named = f"structure[0].wording.en.{key}"
    from par_review.i18n import Translator

    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", data))
    tr = Translator("en")
    known = tr.texts.keys() | tr.fallback.keys()  # what the report passes (build_context)
    assert cfg.wording(2024, "vi", known=known)  # the other language's texts are fine
    assert cfg.wording(2025, "en")  # the data steps read the config without the locales
    with pytest.raises(ConfigError) as info:
        cfg.wording(2025, "en", known=known)
    assert named in str(info.value) and hint in str(info.value)
    assert "province.yml" in str(info.value)


def test_a_one_level_three_tier_province(tmp_path):
    data = {
        "id": "tinh_nho",
        "name": {"vi": "Tỉnh Nhỏ"},
        "tiers": [
            {"id": "tot", "label": {"vi": "Tốt"}},
            {"id": "kha", "label": {"vi": "Khá"}},
            {"id": "kem", "label": {"vi": "Kém"}},
        ],
        "bands": {"default": {"tot": 80, "kha": 60, "kem": 0}},
        "levels": {"commune": {"label": {"vi": "cấp xã"}, "group_by": None}},
    }
    cfg = load_config("tinh_nho", write_config(tmp_path, "tinh_nho", data))
    assert list(cfg.levels_for(2024)) == ["commune"] and cfg.all_levels() == ["commune"]
    assert cfg.areas("commune", 2024) == [] and cfg.tier_for_score(59.9, 2024, "commune") == "kem"
    assert cfg.comparability(2024, "commune")["basis"] == "same_set"
    assert cfg.wording(2024, "vi") == {} and cfg.absorbed_in(2024) == []


def test_the_module_has_no_fixed_level_list():
    import par_review.config as config

    assert not hasattr(config, "LEVELS")


def test_validation_suites_follow_the_levels_of_every_year(tmp_path):
    """Suites are generated from the config's levels (one, two or three), a level whose areas
    change gets a suite per set of areas, and a year without a target only warns."""
    from par_review.rawdata.registry import Registry
    from par_review.validation.suites import build_suites, expectation_parameters, suite_key

    cfg = load_config("tinh_mau", write_config(tmp_path, "tinh_mau", merged_province()))
    suites = build_suites(cfg)
    assert list(suites) == [
        "provincial",
        "commune",
        "commune-from2025",
        "dac_khu",
        "satisfaction",
        "national_indices",
    ]
    assert suite_key(cfg, "commune", 2024) == "commune"
    assert suite_key(cfg, "commune", 2026) == "commune-from2025"
    assert suite_key(cfg, "provincial", 2026) == "provincial"

    def columns(key):
        e = suites[key]["expectations"][0]
        return e["kwargs"]["column_list"]

    assert "area_c" in columns("commune-from2025") and "area_c" not in columns("commune")
    # communes are grouped by district until 2024 only: district must be filled until then
    checks = {e["meta"]["check"]: e for e in suites["commune"]["expectations"]}
    cond = checks["commune.district.not_null"]["kwargs"]["row_condition"]
    assert (cond["column"]["name"], cond["operator"], cond["parameter"]) == ("year", "<", 2025)
    assert "provincial.district.not_null" not in {
        e["meta"]["check"] for e in suites["provincial"]["expectations"]
    }
    sat = {e["meta"]["check"]: e for e in suites["satisfaction"]["expectations"]}
    assert sat["satisfaction.target_pct.present"]["meta"]["severity"] == "warning"
    params = expectation_parameters("satisfaction", 2026, cfg, Registry([]))
    assert params["satisfaction_targets"] == []
    assert params["satisfaction_target_key"].startswith("targets.2026.satisfaction.value")
    assert params["configured_groups"] == ["phuong", "so", "xa"]
    assert expectation_parameters("commune", 2024, cfg, Registry([]))["configured_groups"] == [
        "so",
        "xa",
    ]
    one = other_province()
    one["levels"] = {"commune": one["levels"]["commune"]}
    cfg1 = load_config("tinh_mau", write_config(tmp_path / "one", "tinh_mau", one))
    assert list(build_suites(cfg1)) == ["commune", "satisfaction", "national_indices"]


def test_a_copied_province_that_kept_the_id_it_was_copied_from_is_an_error(project):
    """`cp -r config/ninh_thuan config/phu_yen` keeps `id: ninh_thuan`: its tables would be
    validated with Ninh Thuận's suites without a word. Loading it says what to set."""
    import shutil

    shutil.copytree(project.config_dir / "ninh_thuan", project.config_dir / "phu_yen")
    with pytest.raises(
        ConfigError,
        match=r"config/phu_yen/province.yml: id 'ninh_thuan' .*"
        r"set `id: phu_yen`",
    ):
        load_config("phu_yen", project)
    cfg = project.config_dir / "phu_yen" / "province.yml"
    cfg.write_text(cfg.read_text("utf-8").replace("id: ninh_thuan", "id: phu_yen", 1), "utf-8")
    assert load_config("phu_yen", project).id == "phu_yen"
