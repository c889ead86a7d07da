"""Text normalisation for Vietnamese names and labels.

Every string that enters the pipeline is NFC-normalised (Vietnamese can be typed NFD,
with combining marks, and the two look identical but compare unequal).
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def nfc(text: object) -> str:
    """NFC-normalise and collapse white space (incl. non-breaking spaces) to single spaces."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text))
    return _SPACE.sub(" ", s.replace("\u00a0", " ")).strip()


_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})
_SPACE_AROUND_PUNCT = re.compile(r"\s*([-,.&/()])\s*")


def name_key(text: object) -> str:
    """Key for matching names: NFC, case-folded, white space collapsed (and dropped around
    punctuation and dashes), keeps diacritics and letters.

    "  SỞ  TƯ PHÁP" and "Sở Tư pháp" (NFD) give the same key, as do "Sở Lao động-Thương binh"
    and "Sở Lao động – Thương binh"; "Cam Hải" and "Cam Hai" do not.
    """
    return _SPACE_AROUND_PUNCT.sub(r"\1", nfc(text).translate(_DASHES)).casefold()


def names_province(name: object, province_vi: object) -> bool:
    """Whether a unit's name already says its province ("Sở Tư pháp tỉnh Ninh Thuận" and
    "Ninh Thuận"): then "(Ninh Thuận)" after it would say it twice."""
    p = name_key(province_vi)
    return bool(p) and re.search(rf"(^|\s){re.escape(p)}($|\s)", name_key(name)) is not None


def strip_diacritics(text: object) -> str:
    s = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn")


def loose_key(text: object) -> str:
    """Key for labels (headers, tier names): also ignores diacritics and punctuation.

    Used only where the vocabulary is small and distinct (Tốt / Khá / Trung bình / Yếu),
    never for unit names.
    """
    s = strip_diacritics(text).casefold()
    s = re.sub(r"[^\w%]+", " ", s)
    return _SPACE.sub(" ", s).strip()


# Vietnamese alphabet order: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y,
# tones ordered: none, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot).
_BASE_ORDER = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_VOWEL_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter


def _split_letter(ch: str) -> tuple[str, int]:
    decomposed = unicodedata.normalize("NFD", ch)
    tone = 0
    kept = []
    for c in decomposed:
        if c in _TONES:
            tone = _TONES[c]
        else:
            kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def vi_sort_key(text: object) -> tuple:
    """Sort key for Vietnamese collation (letters first, tones as a tie-breaker).

    sorted(["Vĩnh Hải", "Vạn Thắng", "Ba Ngòi", "Đồng Nai", "Diên An"], key=vi_sort_key)
    -> Ba Ngòi, Diên An, Đồng Nai, Vạn Thắng, Vĩnh Hải
    """
    s = nfc(text).lower()
    primary: list[int] = []
    tones: list[int] = []
    for ch in s:
        base, tone = _split_letter(ch)
        # a space sorts first: syllable by syllable, "An Phú" comes before "Anh"
        if base == " ":
            idx = -1
        elif not base:  # a lone tone mark (nothing to compose with): before every letter
            idx = -2
        else:
            idx = _BASE_ORDER.find(base)
            if idx < 0:  # letters outside the alphabet (f, j, w, z), digits, punctuation
                idx = 100 + ord(base[0])
        primary.append(idx)
        tones.append(tone)
    return (tuple(primary), tuple(tones), s)


# the type words before a place name, longest first ("Thành phố Nha Trang" sorts under N)
_NAME_PREFIXES = (
    "thành phố",
    "thị xã",
    "thị trấn",
    "đặc khu",
    "phường",
    "huyện",
    "quận",
    "tỉnh",
    "xã",
)
_DIGITS = re.compile(r"\d+")


def vi_name_sort_key(text: object) -> tuple:
    """Sort key for place and unit names: Vietnamese collation of the name without its
    type word ("Huyện", "Thị xã", "Thành phố", "Xã", "Phường", …), numbers in numeric
    order ("Phường 2" before "Phường 10"); the full name breaks ties.

    sorted(["Thành phố Nha Trang", "Huyện Cam Lâm", "Thị xã Ninh Hòa"], key=vi_name_sort_key)
    -> Huyện Cam Lâm, Thành phố Nha Trang, Thị xã Ninh Hòa
    """
    s = nfc(text)
    low = s.lower()
    for p in _NAME_PREFIXES:
        if low.startswith(p + " ") and len(low) > len(p) + 1:
            s = s[len(p) + 1 :]
            break
    padded = _DIGITS.sub(lambda m: m.group(0).rjust(8, "0"), s)
    return (vi_sort_key(padded), vi_sort_key(text))
