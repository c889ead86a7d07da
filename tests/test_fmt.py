"""The formatting layer: Vietnamese and English numbers, percentages, counts, dates."""

import datetime as dt
import math

import pytest

from par_review.fmt import (
    MINUS,
    Formatter,
    fmt_count,
    fmt_date,
    fmt_fraction,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_signed,
    round_decimal,
)


def test_pct_vi_en_and_policies():
    share = 30 / 43 * 100  # 69.767...
    assert fmt_pct(share, "vi") == "69,77%"
    assert fmt_pct(share, "en") == "69.77%"
    # the province's notices truncate: 30/43 -> "69,76", 73/136 -> "53,67"
    assert fmt_pct(share, "vi", policy="truncate") == "69,76%"
    assert fmt_pct(73 / 136 * 100, "vi", policy="truncate") == "53,67%"
    assert fmt_pct(73 / 136 * 100, "vi", policy="half_up") == "53,68%"
    assert fmt_pct(83.0, "vi", strip_zeros=True) == "83%"
    assert fmt_pct(82.77, "vi") == "82,77%"


def test_half_up_is_decimal_not_binary():
    # 2.675 is stored as 2.67499999...; a person (and the notice) rounds it to 2.68
    assert fmt_num(2.675, "en") == "2.68"
    assert fmt_num(0.125, "vi") == "0,13"
    assert fmt_num(0.125, "vi", policy="truncate") == "0,12"
    assert str(round_decimal(-1.239, 2, "truncate")) == "-1.23"


def test_negative_and_signed():
    assert fmt_signed(-5, "vi") == MINUS + "5"
    assert fmt_signed(3, "vi") == "+3"
    assert fmt_signed(0, "en") == "0"
    assert fmt_num(-1.255, "vi", sign=True) == MINUS + "1,26"
    assert fmt_num(-0.001, "vi") == "0,00"  # no "−0,00"
    assert fmt_num(1.5, "en", sign=True) == "+1.50"


def test_counts_padded_in_vietnamese_only():
    assert fmt_count(3, "vi") == "03"
    assert fmt_count(0, "vi") == "0"
    assert fmt_count(13, "vi") == "13"
    assert fmt_count(3, "en") == "3"
    assert fmt_count(1234, "vi") == "1.234"


def test_thousands_and_fractions():
    assert fmt_int(1234567, "vi") == "1.234.567"
    assert fmt_int(1234567, "en") == "1,234,567"
    assert fmt_num(1234.5, "vi", decimals=1) == "1.234,5"
    assert fmt_fraction(30, 43, "vi") == "30/43"


def test_dates():
    d = dt.date(2023, 2, 28)
    assert fmt_date(d, "vi") == "28/02/2023"
    assert fmt_date("2023-02-28", "vi") == "28/02/2023"
    assert fmt_date(dt.datetime(2023, 2, 28, 9, 30), "en") == "28 February 2023"
    with pytest.raises(ValueError):
        fmt_date("yesterday", "vi")


def test_missing_values_never_print_nan():
    for f in (fmt_pct, fmt_num, fmt_count, fmt_signed, fmt_int):
        out = f(math.nan, "vi")
        assert "nan" not in out.lower() and out
    assert fmt_pct(None, "en") == fmt_date(None, "en")


def test_formatter_binds_language_and_policy():
    f = Formatter("vi", "truncate")
    assert f.pct(30 / 43 * 100) == "69,76%"
    assert Formatter("en").pct(30 / 43 * 100) == "69.77%"
    with pytest.raises(ValueError):
        Formatter("fr")
    with pytest.raises(ValueError):
        Formatter("vi", "banker")


def test_numpy_scalars():
    np = pytest.importorskip("numpy")
    assert fmt_pct(np.float64(30 / 43 * 100), "vi") == "69,77%"
    assert fmt_count(np.int64(3), "vi") == "03"
