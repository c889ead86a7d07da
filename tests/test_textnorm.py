"""Text normalisation and Vietnamese collation."""

from __future__ import annotations

import random
import unicodedata

import pytest

from par_review.textnorm import loose_key, name_key, nfc, strip_diacritics, vi_sort_key


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_nfc_composes_and_collapses_white_space():
    assert nfc(nfd("  Sở\u00a0Tư   pháp\t")) == "Sở Tư pháp"
    assert unicodedata.is_normalized("NFC", nfc(nfd("Khánh Hòa")))
    assert nfc(None) == "" and nfc(12) == "12"


def test_name_key_ignores_case_spacing_and_normalisation_but_not_diacritics():
    assert name_key("  SỞ  TƯ PHÁP") == name_key(nfd("Sở Tư pháp"))
    assert name_key("Cam Hải") != name_key("Cam Hai")
    assert name_key("Vạn Thắng") != name_key("Vạn Thạnh")


def test_loose_key_and_strip_diacritics():
    assert (
        loose_key("Tốt") == loose_key("TỐT") == loose_key("tot") == loose_key(nfd(" Tốt ")) == "tot"
    )
    assert loose_key("Chỉ số CCHC (%)") == "chi so cchc %"
    assert strip_diacritics("Đường Đệ") == "Duong De"
    assert loose_key("Trung  bình") == loose_key("Trung bình") == "trung binh"


def vsorted(names):
    return sorted(names, key=vi_sort_key)


def test_vi_sort_key_alphabet_order():
    assert vsorted(["Vĩnh Hải", "Vạn Thắng", "Ba Ngòi", "Đồng Nai", "Diên An"]) == [
        "Ba Ngòi",
        "Diên An",
        "Đồng Nai",
        "Vạn Thắng",
        "Vĩnh Hải",
    ]
    # a < ă < â, d < đ, e < ê, o < ô < ơ, u < ư: letters, not accents
    assert vsorted(["Âu", "Ăn", "An"]) == ["An", "Ăn", "Âu"]
    assert vsorted(["Đa", "Dz", "Dang"]) == ["Dang", "Dz", "Đa"]
    assert vsorted(["Ơn", "Ông", "Oanh"]) == ["Oanh", "Ông", "Ơn"]
    assert vsorted(["Ưng", "Uyên"]) == ["Uyên", "Ưng"]
    assert vsorted(["Ê", "Ez", "Ea"]) == ["Ea", "Ez", "Ê"]
    # the letters matter before the tones: "Ăn" after "Az" even though A < Ă only by its mark
    assert vsorted(["Ăn", "Az"]) == ["Az", "Ăn"]


def test_vi_sort_key_tones_break_ties_in_the_traditional_order():
    # none, huyền, hỏi, ngã, sắc, nặng
    tones = ["ma", "mà", "mả", "mã", "má", "mạ"]
    shuffled = tones[:]
    random.Random(1).shuffle(shuffled)
    assert vsorted(shuffled) == tones
    # a tone decides only when the letters are the same: "Hà Nam" < "Ha Tien" (n < t)
    assert vsorted(["Ha Tien", "Hà Nam"]) == ["Hà Nam", "Ha Tien"]


def test_vi_sort_key_syllables_space_first_case_and_nfd_insensitive():
    assert vsorted(["Anh", "An Phú"]) == ["An Phú", "Anh"]
    assert vsorted(["Cam Hải Tây", "Cam Hải Đông", "Cam Hà"]) == [
        "Cam Hà",
        "Cam Hải Đông",
        "Cam Hải Tây",
    ]
    assert vi_sort_key(nfd("Phường Vĩnh Hòa")) == vi_sort_key("phường vĩnh hòa")
    assert vi_sort_key(nfd("Đồng Nai"))[:2] == vi_sort_key("ĐỒNG NAI")[:2]


@pytest.mark.parametrize("odd", ["\u0301a", "F-16 Zeta", "123", "", "Quận 1 (cũ)"])
def test_vi_sort_key_never_fails(odd):
    key = vi_sort_key(odd)
    assert isinstance(key, tuple)
    vsorted([odd, "Ba", "ă"])  # comparable with ordinary names


def test_vi_sort_key_sorts_the_commune_roster(cfg):
    from par_review.rawdata.registry import load_registry

    names = [u.name for u in load_registry(cfg.dir).roster(2022, "commune")]
    out = vsorted(names)
    assert len(out) == 136
    # "Phường ..." (p) < "Thị trấn ..." (t) < "Xã ..." (x)
    kinds = [n.split()[0] for n in out]
    assert kinds.index("Xã") > max(i for i, k in enumerate(kinds) if k == "Thị")
    assert max(i for i, k in enumerate(kinds) if k == "Phường") < kinds.index("Thị")


def test_name_key_ignores_spacing_around_punctuation_and_dash_variants():
    ref = name_key("Sở Lao động - Thương binh và Xã hội")
    assert name_key("Sở Lao động-Thương binh và Xã hội") == ref
    assert name_key("SỞ LAO ĐỘNG – THƯƠNG BINH VÀ XÃ HỘI") == ref
    assert name_key("Sở KH & ĐT") == name_key("Sở KH&ĐT")
    assert name_key("Sở Lao động, Thương binh") != name_key(
        "Sở Lao động Thương binh"
    )  # letters/punctuation kept
