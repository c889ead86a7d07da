"""The audit under a changed structure (issue 12): the 2025 vocabulary (xã, phường, đặc
khu; communes scored by the province, no huyện), and changes across the 2025 merger, streaks
that would reach across it and ranks out of 34 against 63: `not comparable`, with the reason,
exit 1. Hand-made metrics dicts in the metrics.json schema (no demo data)."""

from __future__ import annotations

import json

import pytest

from par_review.audit import (
    NOT_CHECKED,
    NOT_COMPARABLE,
    OK,
    OK_TRUNCATED,
    WRONG,
    AuditResult,
    audit_text,
    facts_from_metrics,
    format_json,
    format_text,
)

TIERS = ("tot", "kha", "trung_binh", "yeu")
LABELS = {"tot": "Tốt", "kha": "Khá", "trung_binh": "Trung bình", "yeu": "Yếu"}

COMMUNE_REASON = {
    "vi": "Từ năm 2025, 65 xã, phường, đặc khu thay cho 136 xã của tỉnh cũ và các xã của Ninh Thuận.",
    "en": "from 2025, 65 communes replace the 136 of the old province and Ninh Thuận's",
}
PROVINCIAL_REASON = {
    "vi": "Từ năm 2025, 14 sở thay cho 21 sở; so sánh qua đơn vị kế thừa.",
    "en": "from 2025, 14 departments replace 21; compared through lineage",
}


def level(history, comparison=None, score=None, streak_since=None):
    """One level of metrics.json: `history` is {year: (tot, kha, trung_binh, yeu)}."""
    year = max(history)
    counts = dict(zip(TIERS, history[year], strict=True))
    lv = {
        "total": sum(counts.values()),
        "tiers": {t: {"label": LABELS[t], "count": counts[t]} for t in TIERS},
        "history": [
            {"year": y, "total": sum(c), "counts": dict(zip(TIERS, c, strict=True))}
            for y, c in sorted(history.items())
        ],
        "previous_year": year - 1,
    }
    if comparison is not None:
        lv["comparison"] = comparison
    if score is not None:
        lv["score"] = score
    if streak_since is not None:
        lv["streaks"] = {t: {"since_structure": streak_since} for t in TIERS[1:]}
    return lv


def metrics_2025(**over):
    """2025, the first year of the merged structure: provincial units compared through
    lineage, communes against a pooled baseline; the PAR INDEX ranked out of 34 (2024: 63)."""
    m = {
        "year": 2025,
        "levels": {
            "provincial": level(
                {2023: (30, 13, 0, 0), 2024: (31, 12, 0, 0), 2025: (20, 7, 0, 0)},
                {
                    "basis": "matched_units",
                    "previous_year": 2024,
                    "reason": PROVINCIAL_REASON,
                    "since_structure": 2025,
                },
                score={"mean": 88.1, "prev_mean": 87.2, "change_mean": None},
                streak_since=2025,
            ),
            "commune": level(
                {
                    2020: (62, 66, 8, 0),
                    2021: (70, 61, 5, 0),
                    2022: (73, 63, 0, 0),
                    2023: (74, 62, 0, 0),
                    2024: (74, 62, 0, 0),
                    2025: (18, 47, 0, 0),
                },
                {
                    "basis": "combined_baseline",
                    "previous_year": 2024,
                    "reason": COMMUNE_REASON,
                    "since_structure": 2025,
                },
                score={"mean": 84.0, "prev_mean": 85.6, "change_mean": -1.6},
                streak_since=2025,
            ),
        },
        "national_indices": {
            "PAR_INDEX": {
                "label": "Chỉ số CCHC (PAR INDEX)",
                "rank": 10,
                "rank_of": 34,
                "previous_year": 2024,
                "prev_rank": 30,
                "prev_rank_of": 63,
                "rank_change": None,
                "rank_comparable": False,
            }
        },
    }
    m.update(over)
    return m


def metrics_2026():
    """2026: the same structure as 2025 (same_set), which began in 2025."""
    same = {"basis": "same_set", "previous_year": 2025, "reason": None, "since_structure": 2025}
    return {
        "year": 2026,
        "levels": {
            "commune": level(
                {
                    2023: (74, 62, 0, 0),
                    2024: (74, 62, 0, 0),
                    2025: (18, 47, 0, 0),
                    2026: (25, 40, 0, 0),
                },
                same,
                streak_since=2025,
            )
        },
    }


def run(text, metrics=None, year=None):
    facts = facts_from_metrics(metrics or metrics_2025())
    return audit_text(text, facts, "half_up", year)


def one(findings, figure, tier=None):
    hits = [f for f in findings if f.figure == figure and (tier is None or f.tier == tier)]
    assert len(hits) == 1, [(f.figure, f.tier, f.verdict, f.note) for f in findings]
    return hits[0]


COMM_2025 = "Đối với UBND cấp xã do UBND tỉnh đánh giá và xếp hạng, kết quả năm 2025 có: "
PROV_2025 = "Kết quả xếp hạng của các cơ quan, đơn vị cấp tỉnh: "


# --------------------------------------------------------------------------- changes across the break
def test_count_change_across_the_merger_is_not_comparable_with_the_reason():
    fs = run(
        COMM_2025 + "18/65 đơn vị xếp hạng Tốt (chiếm 27,69%), giảm 56 đơn vị so với năm 2024."
    )
    # this year's figures are checked as usual
    assert one(fs, "count").verdict == OK
    assert one(fs, "total").verdict == OK
    assert one(fs, "share").verdict == OK
    change = one(fs, "change")
    assert change.verdict == NOT_COMPARABLE
    assert (change.level, change.claimed, change.computed) == ("commune", "-56", None)
    assert "combined_baseline" in change.note and COMMUNE_REASON["en"] in change.note
    assert change.comparison["basis"] == "combined_baseline"
    assert change.comparison["reason"] == COMMUNE_REASON


def test_a_change_stated_before_the_tier_and_without_a_year_is_not_comparable_either():
    fs = run(COMM_2025 + "giảm 56 đơn vị xếp hạng Tốt so với năm 2024.")
    assert [(f.figure, f.verdict) for f in fs] == [("change", NOT_COMPARABLE)]
    # no year printed: the year before is meant, which is across the break too
    fs = run(COMM_2025 + "65 đơn vị xếp hạng Khá, giảm 15 đơn vị.")
    assert one(fs, "change").verdict == NOT_COMPARABLE


def test_share_change_in_points_across_the_merger_is_not_comparable():
    f = one(
        run(COMM_2025 + "tỷ lệ đơn vị xếp hạng Tốt giảm 26,72 điểm phần trăm so với năm 2024."),
        "change_pp",
    )
    assert f.verdict == NOT_COMPARABLE and COMMUNE_REASON["en"] in f.note


def test_provincial_change_through_lineage_is_not_comparable_as_a_count():
    fs = run(PROV_2025 + "20/27 đơn vị xếp hạng Tốt, giảm 11 đơn vị so với năm 2024.")
    assert one(fs, "count").verdict == OK
    change = one(fs, "change")
    assert change.verdict == NOT_COMPARABLE
    assert change.level == "provincial" and "matched_units" in change.note
    assert PROVINCIAL_REASON["en"] in change.note


def test_total_and_its_change_across_the_merger():
    fs = run(PROV_2025 + "Tổng số đơn vị được đánh giá là 27, giảm 16 đơn vị so với năm 2024.")
    total = one(fs, "total")
    assert (total.level, total.claimed, total.computed, total.verdict) == (
        "provincial",
        "27",
        "27",
        OK,
    )
    change = one(fs, "change_total")
    assert (change.claimed, change.verdict) == ("-16", NOT_COMPARABLE)


def test_mean_score_change_across_the_merger_is_not_comparable():
    f = one(
        run(COMM_2025 + "điểm trung bình giảm 1,6 điểm so với năm 2024."),
        "change_mean",
    )
    assert f.verdict == NOT_COMPARABLE and f.level == "commune"


def test_streak_that_reaches_across_the_merger_is_not_comparable():
    # none ranked Yếu in 2020–2025, but 2025 scores other communes than 2020–2024
    f = one(run(COMM_2025 + "là năm thứ 6 liên tiếp không có đơn vị xếp hạng Yếu."), "streak")
    assert f.verdict == NOT_COMPARABLE and "since the structure of 2025" in f.note
    f = one(run(COMM_2025 + "là năm đầu tiên không có đơn vị xếp hạng Trung bình."), "first_year")
    assert f.verdict == NOT_COMPARABLE and "2025" in f.note


def test_national_ranks_out_of_different_totals_are_not_compared():
    fs = run(
        "Chỉ số CCHC (PAR INDEX) năm 2025 của tỉnh xếp hạng 10/34, tăng 20 bậc so với năm 2024."
    )
    rank = one(fs, "rank")
    assert (rank.claimed, rank.computed, rank.verdict) == ("10/34", "10/34", OK)
    change = one(fs, "rank_change")
    assert (change.claimed, change.verdict) == ("+20", NOT_COMPARABLE)
    assert "34" in change.note and "63" in change.note
    assert "34" in change.comparison["reason"]["vi"] and "63" in change.comparison["reason"]["vi"]


def test_a_wrong_rank_is_wrong():
    fs = run("Chỉ số PAR INDEX năm 2025 xếp thứ 12/34.")
    assert one(fs, "rank").verdict == WRONG


def test_ranks_out_of_the_same_total_are_compared():
    m = metrics_2025()
    m["national_indices"]["PAR_INDEX"].update(
        rank_of=63, prev_rank_of=63, rank_change=20, rank_comparable=True
    )
    fs = run("Chỉ số CCHC (PAR INDEX) năm 2025 xếp hạng 10/63, tăng 20 bậc so với năm 2024.", m)
    assert [f.verdict for f in fs] == [OK, OK]
    fs = run("Chỉ số CCHC (PAR INDEX) năm 2025 xếp hạng 10/63, tăng 21 bậc so với năm 2024.", m)
    assert one(fs, "rank_change").verdict == WRONG


# --------------------------------------------------------------------------- within the new structure
def test_changes_within_the_new_structure_are_checked():
    fs = run(
        "Đối với UBND cấp xã: 25/65 đơn vị xếp hạng Tốt, tăng 07 đơn vị so với năm 2025.",
        metrics_2026(),
    )
    assert one(fs, "change").verdict == OK
    fs = run(
        "Đối với UBND cấp xã: 25/65 đơn vị xếp hạng Tốt, tăng 08 đơn vị so với năm 2025.",
        metrics_2026(),
    )
    assert one(fs, "change").verdict == WRONG
    # 2026 against 2024 still crosses the 2025 break, though 2026 itself is same_set
    fs = run(
        "Đối với UBND cấp xã: 25/65 đơn vị xếp hạng Tốt, giảm 49 đơn vị so với năm 2024.",
        metrics_2026(),
    )
    change = one(fs, "change")
    assert change.verdict == NOT_COMPARABLE and "2025" in change.note


def test_streak_within_the_new_structure():
    text = "Đối với UBND cấp xã: là năm thứ 2 liên tiếp không có đơn vị xếp hạng Yếu."
    f = one(run(text, metrics_2026()), "streak")
    assert (f.verdict, f.computed) == (OK, "2")
    assert "since the structure of 2025" in f.note
    text = "Đối với UBND cấp xã: là năm thứ 4 liên tiếp không có đơn vị xếp hạng Yếu."
    assert one(run(text, metrics_2026()), "streak").verdict == NOT_COMPARABLE


# --------------------------------------------------------------------------- 2025 vocabulary
@pytest.mark.parametrize(
    "text",
    [
        "Có 47/65 xã, phường, đặc khu xếp hạng Khá.",
        "Có 47/65 UBND xã, phường, đặc khu xếp hạng Khá.",
        "Đối với các xã, phường, đặc khu: 47/65 đơn vị xếp hạng Khá.",
        # the province scores the communes from 2025: "do UBND cấp tỉnh" is not a cue
        "Đối với UBND cấp xã do UBND cấp tỉnh đánh giá, kết quả có 47/65 đơn vị xếp hạng Khá.",
        "Đối với UBND cấp xã do Sở Nội vụ thẩm định, có 47/65 đơn vị xếp hạng Khá.",
    ],
)
def test_2025_commune_vocabulary(text):
    fs = run(text)
    count = one(fs, "count")
    assert (count.level, count.verdict) == ("commune", OK)
    assert one(fs, "total").verdict == OK


def test_a_part_of_the_communes_is_not_the_commune_level():
    f = one(run("Có 12 phường xếp hạng Tốt."), "count")
    assert f.verdict == NOT_CHECKED and f.level is None


# --------------------------------------------------------------------------- output and exit code
def test_not_comparable_makes_exit_1_and_is_in_text_and_json():
    findings = run(COMM_2025 + "18/65 đơn vị xếp hạng Tốt, giảm 56 đơn vị so với năm 2024.")
    result = AuditResult("notice.txt", 2025, "khanh_hoa", "half_up", findings, LABELS)
    assert not result.has_wrong
    assert result.exit_code == 1
    text = format_text(result)
    assert "not comparable" in text and COMMUNE_REASON["en"] in text
    assert text.splitlines()[-1].endswith("1 not comparable → exit 1")
    data = json.loads(format_json(result))
    assert data["summary"][NOT_COMPARABLE] == 1 and data["summary"]["wrong"] is False
    f = next(f for f in data["findings"] if f["verdict"] == NOT_COMPARABLE)
    assert f["comparison"]["reason"]["vi"] == COMMUNE_REASON["vi"]
    assert all("comparison" not in f for f in data["findings"] if f["verdict"] != NOT_COMPARABLE)


def test_metrics_without_comparison_are_the_same_set():
    m = metrics_2025()
    for lv in m["levels"].values():
        lv.pop("comparison")
        lv.pop("streaks")
    facts = facts_from_metrics(m)
    assert facts.comparison("commune").basis == "same_set"
    assert facts.break_between("commune", 2024, 2025) is None
    fs = run(COMM_2025 + "18/65 đơn vị xếp hạng Tốt, giảm 56 đơn vị so với năm 2024.", m)
    assert one(fs, "change").verdict == OK
    result = AuditResult("n.txt", 2025, "x", "half_up", fs, LABELS)
    assert result.exit_code == 0 and NOT_COMPARABLE not in format_text(result)


def test_same_set_share_change_and_truncation_still_work_with_a_comparison_block():
    m = metrics_2026()
    fs = run(
        "Đối với UBND cấp xã: tỷ lệ đơn vị xếp hạng Tốt tăng 10,76 điểm phần trăm so với năm 2025.",
        m,
    )
    # 25/65 − 18/65 = 10,7692…: 10,77 half-up, 10,76 truncated
    assert one(fs, "change_pp").verdict == OK_TRUNCATED


def test_a_tier_count_worded_as_a_total_is_not_read_as_the_total():
    fs = run(PROV_2025 + "Tổng số đơn vị xếp hạng Tốt là 20.")
    assert not [f for f in fs if f.figure == "total"]
    assert not [f for f in fs if f.verdict == WRONG]


def test_the_worked_example_in_docs_audit_md_is_what_the_audit_prints():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "audit.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Structure over time") :]
    notice = section.split("```text\n", 1)[1].split("```", 1)[0]
    shown = section.split("$ par-review audit notice_2025.txt --year 2025\n", 1)[1]
    shown = shown.split("$ echo $?", 1)[0]
    result = AuditResult("notice_2025.txt", 2025, "khanh_hoa", "half_up", run(notice), LABELS)
    assert format_text(result) == shown
    assert result.exit_code == 1


def test_last_years_rank_is_checked_against_the_previous_ranking():
    fs = run("Năm 2024, Chỉ số PAR INDEX của tỉnh xếp hạng 30/63.")
    assert (one(fs, "rank").computed, one(fs, "rank").verdict) == ("30/63", OK)
    fs = run("Năm 2024, Chỉ số PAR INDEX của tỉnh xếp hạng 30/34.")
    assert one(fs, "rank").verdict == WRONG
