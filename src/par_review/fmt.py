"""The one locale-aware formatting layer: every number, percentage, count, change and date
that a reader sees (text, tables, chart labels) goes through here.

    fmt_pct(69.7674, "vi")                      -> "69,77%"
    fmt_pct(69.7674, "vi", policy="truncate")   -> "69,76%"   (what the province's notices do)
    fmt_pct(69.7674, "en")                      -> "69.77%"
    fmt_num(1234.5, "vi", decimals=1)           -> "1.234,5"
    fmt_count(3, "vi")                          -> "03"       (the notices' "tăng 03 đơn vị")
    fmt_signed(-5, "vi")                        -> "−5"       (U+2212 minus sign)
    fmt_date(date(2023, 2, 28), "vi")           -> "28/02/2023"
    fmt_date(date(2023, 2, 28), "en")           -> "28 February 2023"

Rounding is decimal, not binary: 2.675 rounds half-up to 2.68 (the float 2.675 is slightly
below 2.675; we round the shortest decimal that represents it, as a person would). The
`truncate` policy cuts towards zero. A missing value (None, NaN) prints as an en dash,
never as "nan".
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

LANGS = ("vi", "en")
POLICIES = ("half_up", "truncate")
MISSING = "–"  # en dash: a value that is not known
MINUS = "−"  # U+2212: the typographic minus sign of signed changes

_SEPARATORS = {"vi": (",", "."), "en": (".", ",")}  # (decimal, thousands)
_COUNT_WIDTH = {"vi": 2, "en": 0}  # Vietnamese official style pads small counts: "03"
_PCT_SPACE = {"vi": "", "en": ""}
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: expected one of {LANGS}")
    return lang


def is_missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def round_decimal(
    x: float | int | str | Decimal, decimals: int = 2, policy: str = "half_up"
) -> Decimal:
    """`x` rounded to `decimals` places under `policy` ("half_up" or "truncate")."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}: expected one of {POLICIES}")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, str):
        d = Decimal(x)
    elif isinstance(x, numbers.Integral):
        d = Decimal(int(x))
    else:  # floats, numpy floats: the shortest decimal that round-trips
        d = Decimal(repr(float(x)))
    q = Decimal(1).scaleb(-decimals)
    out = d.quantize(q, rounding=ROUND_HALF_UP if policy == "half_up" else ROUND_DOWN)
    return out + 0  # turn -0.00 into 0.00


def _group(int_digits: str, sep: str) -> str:
    out = []
    while len(int_digits) > 3:
        out.insert(0, int_digits[-3:])
        int_digits = int_digits[:-3]
    out.insert(0, int_digits)
    return sep.join(out)


def fmt_num(
    x: object,
    lang: str = "vi",
    decimals: int = 2,
    policy: str = "half_up",
    grouping: bool = True,
    strip_zeros: bool = False,
    sign: bool = False,
) -> str:
    """A number in the reader's locale. `strip_zeros` drops trailing zeros ("83" not
    "83,00"); `sign` prints "+" for positive values; negative values get U+2212."""
    _check_lang(lang)
    if is_missing(x):
        return MISSING
    d = round_decimal(x, decimals, policy)  # type: ignore[arg-type]
    neg = d < 0
    text = f"{abs(d):.{max(decimals, 0)}f}"
    int_part, _, frac = text.partition(".")
    if strip_zeros:
        frac = frac.rstrip("0")
    dec_sep, thou_sep = _SEPARATORS[lang]
    if grouping:
        int_part = _group(int_part, thou_sep)
    body = int_part + (dec_sep + frac if frac else "")
    if neg:
        return MINUS + body
    if sign and d > 0:
        return "+" + body
    return body


def fmt_pct(
    x: object,
    lang: str = "vi",
    policy: str = "half_up",
    decimals: int = 2,
    strip_zeros: bool = False,
    sign: bool = False,
) -> str:
    """A percentage given in percent (69.7674 -> "69,77%")."""
    if is_missing(x):
        return MISSING
    return (
        fmt_num(x, lang, decimals, policy, strip_zeros=strip_zeros, sign=sign)
        + _PCT_SPACE[lang]
        + "%"
    )


def fmt_points(x: object, lang: str = "vi", policy: str = "half_up", decimals: int = 2) -> str:
    """A change in percentage points, signed: "+1,25" (the unit is added by the wording)."""
    return fmt_num(x, lang, decimals, policy, sign=True)


def fmt_int(n: object, lang: str = "vi") -> str:
    """A whole number with thousands separators ("1.234" vi, "1,234" en)."""
    if is_missing(n):
        return MISSING
    return fmt_num(int(n), lang, decimals=0)  # type: ignore[arg-type]


def fmt_count(n: object, lang: str = "vi") -> str:
    """A count in running text, padded the way official Vietnamese documents write small
    counts ("03 đơn vị"); English writes "3"."""
    _check_lang(lang)
    if is_missing(n):
        return MISSING
    n = int(n)  # type: ignore[arg-type]
    width = _COUNT_WIDTH[lang]
    if 0 < n < 10**width and width:
        return f"{n:0{width}d}"
    return fmt_int(n, lang)


def fmt_signed(n: object, lang: str = "vi") -> str:
    """A signed whole-number change for tables: "+3", "−5", "0"."""
    if is_missing(n):
        return MISSING
    return fmt_num(int(n), lang, decimals=0, sign=True)  # type: ignore[arg-type]


def fmt_fraction(k: object, n: object, lang: str = "vi") -> str:
    """ "30/43" (also ranks: "25/63")."""
    if is_missing(k) or is_missing(n):
        return MISSING
    return f"{fmt_int(k, lang)}/{fmt_int(n, lang)}"


def to_date(value: object) -> _dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    s = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return _dt.datetime.strptime(s[:10], pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (expected YYYY-MM-DD or DD/MM/YYYY)")


def fmt_date(value: object, lang: str = "vi") -> str:
    """28/02/2023 (vi) or 28 February 2023 (en). Accepts a date, datetime or ISO string."""
    _check_lang(lang)
    d = to_date(value)
    if d is None:
        return MISSING
    if lang == "vi":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"


class Formatter:
    """The formatting functions bound to one language and rounding rule (what report.py,
    charts.py and the notebook pass around)."""

    def __init__(self, lang: str = "vi", policy: str = "half_up", decimals: int = 2):
        self.lang = _check_lang(lang)
        if policy not in POLICIES:
            raise ValueError(f"unknown rounding policy {policy!r}: expected one of {POLICIES}")
        self.policy = policy
        self.decimals = decimals

    def pct(self, x: object, decimals: int | None = None, **kw) -> str:
        return fmt_pct(
            x, self.lang, self.policy, self.decimals if decimals is None else decimals, **kw
        )

    def num(self, x: object, decimals: int | None = None, **kw) -> str:
        return fmt_num(
            x, self.lang, self.decimals if decimals is None else decimals, self.policy, **kw
        )

    def points(self, x: object, decimals: int | None = None) -> str:
        return fmt_points(
            x, self.lang, self.policy, self.decimals if decimals is None else decimals
        )

    def int(self, n: object) -> str:
        return fmt_int(n, self.lang)

    def count(self, n: object) -> str:
        return fmt_count(n, self.lang)

    def signed(self, n: object) -> str:
        return fmt_signed(n, self.lang)

    def fraction(self, k: object, n: object) -> str:
        return fmt_fraction(k, n, self.lang)

    def date(self, value: object) -> str:
        return fmt_date(value, self.lang)
