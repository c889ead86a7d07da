"""The notice parser and verdict engine on text alone, against small explicit Facts (no data
files): every statement form, the level and year taken from context, Vietnamese numbers,
and the sentences that must stay `not checked` rather than be misread."""

from __future__ import annotations

import unicodedata

import pytest

from par_review.audit import (
    NOT_CHECKED,
    OK,
    OK_ROUNDED,
    OK_TRUNCATED,
    WRONG,
    Facts,
    LevelYear,
    SatisfactionFacts,
    audit_text,
    facts_from_metrics,
)

TIERS = ("tot", "kha", "trung_binh", "yeu")
LABELS = {"tot": "Tốt", "kha": "Khá", "trung_binh": "Trung bình", "yeu": "Yếu"}


def ly(*counts: int) -> LevelYear:
    return LevelYear(sum(counts), dict(zip(TIERS, counts, strict=True)))


def make_facts(provincial=None, commune=None, satisfaction="default", groups=None) -> Facts:
    history = {
        "provincial": provincial
        or {2020: ly(29, 11, 4, 0), 2021: ly(30, 13, 1, 0), 2022: ly(30, 13, 0, 0)},
        "commune": commune
        or {
            2019: ly(55, 70, 9, 2),
            2020: ly(62, 66, 8, 0),
            2021: ly(70, 61, 5, 0),
            2022: ly(73, 63, 0, 0),
        },
    }
    group_labels = {}
    for gid, (label, counts) in (groups or {}).items():
        history[f"group:{gid}"] = {2022: ly(*counts)}
        group_labels[gid] = label
    if satisfaction == "default":
        satisfaction = SatisfactionFacts(
            value=82.77, target=83.0, met=False, group="so_ban_nganh", group_label="Sở, ban, ngành"
        )
    return Facts(
        year=2022,
        tiers=TIERS,
        tier_labels=LABELS,
        history=history,
        satisfaction=satisfaction,
        tier_aliases={"trung_binh": ("TB",)},
        groups=group_labels or {"so_ban_nganh": "Sở, ban, ngành"},
    )


def run(text: str, facts: Facts | None = None, policy: str = "half_up"):
    return audit_text(text, facts or make_facts(), policy)


def one(findings, figure: str, tier: str | None = None):
    hits = [f for f in findings if f.figure == figure and (tier is None or f.tier == tier)]
    assert len(hits) == 1, [(f.figure, f.tier, f.verdict) for f in findings]
    return hits[0]


PROV = "Kết quả xếp hạng của các cơ quan, đơn vị: "
COMM = "Đối với UBND cấp xã do UBND cấp huyện đánh giá, kết quả có: "


# --------------------------------------------------------------------------- shares
@pytest.mark.parametrize(
    ("printed", "verdict"),
    [
        ("69,77", OK),  # 30/43 = 69.767..% rounded half-up
        ("69,76", OK_TRUNCATED),  # cut, as the province's notices do
        ("69,78", WRONG),
        ("69,8", OK),  # one decimal printed: compared at one decimal
        ("69,7", OK_TRUNCATED),
        ("70", OK),
        ("69.77", OK),  # a decimal point is read too
    ],
)
def test_share_verdict_follows_printed_decimals(printed, verdict):
    f = one(run(PROV + f"30/43 đơn vị xếp hạng Tốt (chiếm tỷ lệ {printed}%)."), "share")
    assert f.verdict == verdict
    assert f.level == "provincial"


def test_truncate_policy_flips_the_verdicts():
    fs = run(
        PROV + "30/43 đơn vị xếp hạng Tốt (chiếm 69,76%), 13 đơn vị xếp hạng Khá (chiếm 30,24%).",
        policy="truncate",
    )
    assert one(fs, "share", "tot").verdict == OK
    # 13/43 = 30.2325..%: truncated 30,23, half-up 30,23 -> 30,24 matches neither
    assert one(fs, "share", "kha").verdict == WRONG
    fs = run(PROV + "30/43 đơn vị xếp hạng Tốt (chiếm 69,77%).", policy="truncate")
    assert one(fs, "share").verdict == OK_ROUNDED


def test_wrong_share_reports_the_computed_share():
    f = one(run(PROV + "13 cơ quan, đơn vị xếp hạng Khá (chiếm tỷ lệ 31,24%)."), "share")
    assert (f.verdict, f.claimed, f.computed) == (WRONG, "31.24", "30.23")
    assert "13/43" in f.note


def test_printed_shares_that_do_not_add_up_are_named_on_the_wrong_one():
    fs = run(PROV + "30/43 đơn vị xếp hạng Tốt (69,76%), 13 đơn vị xếp hạng Khá (31,24%).")
    assert "add up to 101%" in one(fs, "share", "kha").note
    assert "add up" not in one(fs, "share", "tot").note
    # only some tiers printed: no sum is claimed
    fs = run(PROV + "13 đơn vị xếp hạng Khá (31,24%).")
    assert "add up" not in one(fs, "share").note


def test_wrong_share_that_fits_the_printed_fraction_says_so():
    f = one(run(PROV + "13/44 đơn vị xếp hạng Khá (chiếm 29,55%)."), "share")
    assert f.verdict == WRONG and "printed 13/44" in f.note


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        (COMM + "tỷ lệ đơn vị xếp hạng Tốt đạt 53,67%.", OK_TRUNCATED),
        (COMM + "tỷ lệ xếp hạng Khá là 46,32%.", OK),
        (PROV + "tỷ lệ đơn vị xếp hạng Khá năm 2022 chiếm 31,24%.", WRONG),
    ],
)
def test_share_without_a_count(text, verdict):
    f = one(run(text), "share")
    assert f.verdict == verdict


# --------------------------------------------------------------------------- counts and totals
def test_count_and_total_are_checked_separately():
    fs = run(COMM + "74/137 đơn vị xếp hạng Tốt.")
    assert (one(fs, "count").verdict, one(fs, "count").computed) == (WRONG, "73")
    assert (one(fs, "total").verdict, one(fs, "total").computed) == (WRONG, "136")
    assert all(f.level == "commune" for f in fs)


def test_leading_zero_counts_and_zero_statements():
    fs = run(PROV + "có 00 đơn vị xếp hạng Yếu; không có đơn vị xếp hạng Trung bình, Yếu.")
    assert [f.verdict for f in fs if f.figure == "count"] == [OK, OK, OK]
    fs = run(COMM + "không có đơn vị nào xếp loại Khá.")
    f = one(fs, "count")
    assert (f.tier, f.claimed, f.computed, f.verdict) == ("kha", "0", "63", WRONG)


def test_tier_alias_and_case():
    fs = run(COMM + "không có đơn vị xếp hạng TB.")
    assert (one(fs, "count").tier, one(fs, "count").verdict) == ("trung_binh", OK)
    fs = run(COMM + "73/136 đơn vị xếp hạng TỐT.")
    assert one(fs, "count").verdict == OK


def test_group_statement_is_checked_against_the_group():
    facts = make_facts(groups={"so_ban_nganh": ("Sở, ban, ngành", (15, 6, 0, 0))})
    fs = run("Khối sở: 15/21 sở, ban, ngành xếp hạng Tốt, 7 sở, ban, ngành xếp hạng Khá.", facts)
    assert one(fs, "count", "tot").verdict == OK
    assert one(fs, "total").verdict == OK
    assert (one(fs, "count", "kha").verdict, one(fs, "count", "kha").computed) == (WRONG, "6")
    assert {f.level for f in fs} == {"group:so_ban_nganh"}


# --------------------------------------------------------------------------- level from context
def test_level_comes_from_the_nearest_cue_and_not_from_the_agent():
    # "do UBND cấp huyện đánh giá" names who scored the communes, not the level
    fs = run(COMM + "73/136 đơn vị xếp hạng Tốt.")
    assert one(fs, "count").level == "commune"
    text = (
        "Đối với các cơ quan, đơn vị cấp tỉnh: 30/43 đơn vị xếp hạng Tốt; "
        "đối với cấp xã: 73/136 đơn vị xếp hạng Tốt."
    )
    levels = [f.level for f in run(text) if f.figure == "count"]
    assert levels == ["provincial", "commune"]


def test_level_does_not_leak_across_paragraphs_but_flows_into_a_list():
    text = COMM + "73/136 đơn vị xếp hạng Tốt.\n\nKết quả khác: 30/43 đơn vị xếp hạng Tốt."
    fs = [f for f in run(text) if f.figure == "count"]
    assert [f.verdict for f in fs] == [OK, NOT_CHECKED]
    assert "level not clear" in fs[1].note
    text = (
        "Đối với UBND cấp xã, kết quả như sau:\n\n- 73/136 đơn vị xếp hạng Tốt;\n"
        "- 63/136 đơn vị xếp hạng Khá;\n- không có đơn vị xếp hạng Trung bình.\n\nHết."
    )
    fs = run(text)
    assert [f.level for f in fs] == ["commune"] * len(fs)
    assert {f.verdict for f in fs} == {OK}


def test_the_statement_noun_sets_the_level_when_the_context_is_silent():
    f = one(run("Năm 2022 có 13 cơ quan, đơn vị xếp hạng Khá."), "count")
    assert (f.level, f.verdict) == ("provincial", OK)
    f = one(run("Có 63/136 xã, phường, thị trấn xếp hạng Khá."), "count")
    assert (f.level, f.verdict) == ("commune", OK)


# --------------------------------------------------------------------------- changes
def test_changes_against_the_named_or_previous_year():
    fs = run(
        COMM + "73/136 đơn vị xếp hạng Tốt, tăng 03 đơn vị so với năm 2021; "
        "63/136 đơn vị xếp hạng Khá, giảm 03 đơn vị so với năm 2020; "
        "không có đơn vị xếp hạng Trung bình, giảm 05 đơn vị."
    )
    tot, kha, tb = (
        one(fs, "change", "tot"),
        one(fs, "change", "kha"),
        one(fs, "change", "trung_binh"),
    )
    assert (tot.claimed, tot.computed, tot.verdict) == ("+3", "+3", OK)
    assert (kha.claimed, kha.computed, kha.verdict) == ("-3", "-3", OK)  # 66 in 2020 -> 63
    assert (tb.claimed, tb.computed, tb.verdict) == ("-5", "-5", OK)
    assert "no year printed" in tb.note


def test_wrong_direction_and_no_change():
    fs = run(COMM + "63/136 đơn vị xếp hạng Khá, giảm 02 đơn vị so với năm 2021.")
    assert (one(fs, "change").verdict, one(fs, "change").computed) == (WRONG, "+2")
    fs = run(PROV + "30/43 đơn vị xếp hạng Tốt, không thay đổi so với năm 2021.")
    assert (one(fs, "change").claimed, one(fs, "change").verdict) == ("0", OK)


def test_change_stated_before_the_tier_is_a_change_not_a_count():
    fs = run(COMM + "tăng 03 đơn vị xếp hạng Tốt so với năm 2021.")
    assert [f.figure for f in fs] == ["change"]
    assert (fs[0].claimed, fs[0].verdict) == ("+3", OK)


@pytest.mark.parametrize(
    ("phrase", "verdict"),
    [
        ("tăng 2,21 điểm phần trăm", OK),  # 73/136 − 70/136 = 2,2058..
        ("tăng 2,20 điểm phần trăm", OK_TRUNCATED),
        ("tăng 2,2 điểm %", OK),
        ("giảm 2,21 điểm phần trăm", WRONG),
    ],
)
def test_share_change_in_points(phrase, verdict):
    f = one(run(COMM + f"tỷ lệ đơn vị xếp hạng Tốt {phrase} so với năm 2021."), "change_pp")
    assert f.verdict == verdict
    assert f.computed.startswith("2.2")


def test_change_without_data_for_the_year_is_not_checked():
    fs = run(COMM + "73/136 đơn vị xếp hạng Tốt, tăng 20 đơn vị so với năm 2015.")
    f = one(fs, "change")
    assert f.verdict == NOT_CHECKED and "2015" in f.note


# --------------------------------------------------------------------------- streaks and firsts
@pytest.mark.parametrize(
    ("phrase", "verdict"),
    [
        ("năm thứ 3 liên tiếp", OK),
        ("năm thứ ba liên tiếp", OK),
        ("3 năm liên tiếp", OK),
        ("năm thứ 4 liên tiếp", WRONG),
        ("năm thứ 2 liên tiếp", WRONG),
    ],
)
def test_streak(phrase, verdict):
    f = one(run(COMM + f"là {phrase} không có đơn vị xếp hạng Yếu."), "streak")
    assert f.verdict == verdict
    assert f.computed == "3"


def test_streak_that_reaches_the_start_of_the_data_is_not_guessed():
    commune = {2020: ly(62, 66, 8, 0), 2021: ly(70, 61, 5, 0), 2022: ly(73, 63, 0, 0)}
    facts = make_facts(commune=commune)
    f = one(run(COMM + "là năm thứ 5 liên tiếp không có đơn vị xếp hạng Yếu.", facts), "streak")
    assert f.verdict == NOT_CHECKED and "2020" in f.note
    # fewer years than the data show is wrong even so
    f = one(run(COMM + "là năm thứ 2 liên tiếp không có đơn vị xếp hạng Yếu.", facts), "streak")
    assert f.verdict == WRONG


def test_streak_is_wrong_when_this_year_has_such_units():
    f = one(run(PROV + "là năm thứ 2 liên tiếp không có đơn vị xếp hạng Khá."), "streak")
    assert (f.verdict, f.computed) == (WRONG, "0")


def test_first_year():
    f = one(run(PROV + "là năm đầu tiên không có đơn vị xếp hạng Trung bình, Yếu."), "first_year")
    assert (f.verdict, f.tier) == (OK, "trung_binh+yeu")
    f = one(run(COMM + "là năm đầu tiên không có đơn vị xếp hạng Yếu."), "first_year")
    assert (f.verdict, f.computed) == (WRONG, "2020")
    facts = make_facts(commune={2022: ly(73, 63, 0, 0)})
    f = one(run(COMM + "là năm đầu tiên không có đơn vị xếp hạng Yếu.", facts), "first_year")
    assert f.verdict == NOT_CHECKED


# --------------------------------------------------------------------------- satisfaction
def test_satisfaction_value_target_gap_and_met():
    fs = run(
        "Chỉ số hài lòng chung khối cơ quan Sở đạt 82,77 % trong khi mục tiêu đề ra là 83%, "
        "thấp hơn mục tiêu 0,23 điểm phần trăm, chưa đạt mục tiêu."
    )
    assert [(f.figure, f.verdict) for f in fs] == [
        ("satisfaction", OK),
        ("target", OK),
        ("gap", OK),
        ("target_met", OK),
    ]
    fs = run("Chỉ số hài lòng chung khối cơ quan Sở đạt 82,8%, vượt mục tiêu đề ra là 82%.")
    assert one(fs, "satisfaction").verdict == OK
    assert one(fs, "target").verdict == WRONG
    assert one(fs, "target_met").verdict == WRONG


def test_satisfaction_of_another_group_or_without_data_is_not_checked():
    f = one(run("Chỉ số hài lòng khối UBND cấp huyện đạt 85,10%."), "satisfaction")
    assert f.verdict == NOT_CHECKED and "cấp huyện" in f.note
    f = one(run("Chỉ số hài lòng chung đạt 82,77%."), "satisfaction")
    assert f.verdict == NOT_CHECKED and "not clear" in f.note
    facts = make_facts(satisfaction=None)
    f = one(run("Chỉ số hài lòng khối cơ quan Sở đạt 82,77%.", facts), "satisfaction")
    assert f.verdict == NOT_CHECKED


# --------------------------------------------------------------------------- not checked, never misread
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Toàn tỉnh có 120 cán bộ, công chức xếp loại Tốt.", "not units"),
        ("Kết quả: 30/43 đơn vị xếp hạng Tốt.", "level not clear"),
        (COMM + "có trên 70 đơn vị xếp hạng Tốt.", "approximate"),
        (COMM + "có khoảng 70 đơn vị xếp hạng Tốt.", "approximate"),
        ("Tỷ lệ hồ sơ giải quyết đúng hạn đạt 98,5%.", "not a recognised statement"),
        (
            COMM + "tỷ lệ đơn vị xếp hạng Tốt tăng 4,29% so với năm 2021.",
            "not a recognised statement",
        ),
        ("Toàn tỉnh có 136 xã, phường, thị trấn được đánh giá.", "not a recognised statement"),
        ("Năm 2023, phấn đấu có 35/43 cơ quan, đơn vị xếp hạng Tốt.", "2023"),
        ("Số xã xếp hạng Tốt tăng 03 đơn vị.", "not a recognised statement"),
        (PROV + "30 trong tổng số 43 đơn vị xếp hạng Tốt.", "total"),
        (COMM + "có 02 đơn vị xếp hạng Khá năm 2021 đã lên Tốt.", "movement"),
    ],
)
def test_sentences_left_not_checked(text, reason):
    fs = run(text)
    assert fs, "the figure must be reported"
    assert {f.verdict for f in fs} == {NOT_CHECKED}
    assert all(reason in f.note for f in fs), [f.note for f in fs]


def test_dates_document_numbers_and_plans_are_not_figures():
    text = (
        "Báo cáo số 42/BC-UBND ngày 09/3/2022; Nghị quyết số 55/2022/QH15 ngày 16/6/2022; "
        "trong năm 2023 UBND tỉnh tiếp tục chỉ đạo; đến 2025 cơ quan, đơn vị hoàn thành; "
        "Nghị định số 107/2020/NĐ-CP; giai đoạn 2021 - 2025, định hướng đến năm 2030. Ngày 28/02/2023."
    )
    assert run(text) == []


# --------------------------------------------------------------------------- text handling
def test_nfd_and_markdown_input_give_the_same_findings():
    text = (
        "Kết quả của các cơ quan, đơn vị: **30/43** đơn vị xếp hạng Tốt (chiếm tỷ lệ *69,76%*).\n\n"
        "Đối với UBND cấp xã: là năm thứ 3 liên tiếp không có đơn vị xếp hạng Yếu."
    )
    nfc = run(text)
    nfd = run(unicodedata.normalize("NFD", text))
    assert [(f.figure, f.claimed, f.computed, f.verdict) for f in nfd] == [
        (f.figure, f.claimed, f.computed, f.verdict) for f in nfc
    ]
    assert [f.verdict for f in nfc] == [OK, OK, OK_TRUNCATED, OK]
    assert [f.line for f in nfc] == [1, 1, 1, 3]


def test_year_in_the_sentence_selects_the_data_year():
    fs = run(COMM + "năm 2021 có 70/136 đơn vị xếp hạng Tốt.")
    f = one(fs, "count")
    assert (f.year, f.verdict) == (2021, OK)


def test_facts_from_metrics_reads_the_metrics_schema():
    def level(history):
        return {
            "total": history[-1]["total"],
            "tiers": {t: {"label": LABELS[t], "count": history[-1]["counts"][t]} for t in TIERS},
            "history": history,
        }

    hist = [
        {"year": y, "total": sum(c), "counts": dict(zip(TIERS, c, strict=True))}
        for y, c in ((2021, (70, 61, 5, 0)), (2022, (73, 63, 0, 0)))
    ]
    metrics = {
        "year": 2022,
        "levels": {"commune": level(hist)},
        "satisfaction": {
            "available": True,
            "value": 82.77,
            "target": 83.0,
            "met": False,
            "group": "so_ban_nganh",
            "group_label": "Sở, ban, ngành",
        },
    }
    facts = facts_from_metrics(metrics)
    assert facts.tiers == TIERS
    assert facts.level_year("commune", 2021).counts["trung_binh"] == 5
    assert facts.satisfaction.met is False
    fs = run(COMM + "không có đơn vị xếp hạng Trung bình, giảm 05 đơn vị so với năm 2021.", facts)
    assert [f.verdict for f in fs] == [OK, OK]
