"""ID numbers and mobile numbers in free text (router/domain/personal_text.py): what counts as one,
how it is masked, and that the masked string never gives the original away."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from router.domain.ids import id_number_check_char
from router.domain.personal_text import Sealed, find, mask, masked_zh, seal, sealed_in, warning_zh


def an_id(body17: str = "11010519900101123") -> str:
    return body17 + id_number_check_char(body17)


ID = an_id()  # 110105199001011232


@pytest.mark.parametrize(("text", "masked"), [
    (f"对方电话13800138000，身份证{ID}", "对方电话138****8000，身份证110***********1232"),
    ("电话 138 0013 8000 或 +86-138-0013-8001", "电话 138****8000 或 138****8001"),
    ("手机8613800138000", "手机138****8000"),
    ("１３８００１３８０００", "138****8000"),  # full-width, as some IMEs type it
    (f"{ID[:6]} {ID[6:14]} {ID[14:]}", "110***********1232"),  # written in groups 6-8-4
    (f"ID{ID}号", "ID110***********1232号"),
])
def test_numbers_are_masked_where_they_stand(text, masked):
    out, found = mask(text)
    assert out == masked
    assert [text[f.start:f.end].translate(str.maketrans('０１２３４５６７８９', '0123456789')).replace(' ', '')
            .replace('-', '').removeprefix('+86').removeprefix('86').upper() for f in found] == [f.value for f in found]


@pytest.mark.parametrize("text", [
    "案号（2026）京0105民初12345号",
    "金额13800元，欠款2026年10月",
    "订单20261380013800000",         # 11 digits inside a longer run: an account or order number
    "11010519900101123X",            # wrong check character
    "110105199013011234",            # no 13th month
    "电话12800138000",               # no mobile starts 12
    "座机010-12345678",
])
def test_other_numbers_are_left_alone(text):
    assert mask(text) == (text, [])


def test_lowercase_x_check_character_is_found_and_normalised():
    body = next(b for b in (f"4403061985123100{i}" for i in range(10)) if id_number_check_char(b) == "X")
    (f,) = find(f"身份证{body}x")
    assert f.value == body + "X" and f.kind == "id_number"


def test_a_sealed_string_is_its_mask_everywhere_but_in_original():
    s = seal("对方13800138000")
    assert isinstance(s, Sealed) and s == "对方138****8000" and s.original == "对方13800138000"
    assert s.kinds == ("phone",)
    assert json.dumps({"t": s}, ensure_ascii=False) == '{"t": "对方138****8000"}'
    assert f"{s}!" == "对方138****8000!" and s.strip() == "对方138****8000"
    for copied in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert copied == "对方138****8000" and not isinstance(copied, Sealed)


def test_text_without_numbers_stays_a_plain_string():
    t = "楼上漏水损坏楼下装修"
    assert seal(t) is t


def test_sealed_values_are_found_by_path():
    a, b = seal("电话13800138000"), seal(f"身份证{ID}")
    assert sealed_in({"reason": a, "outcome": {"notes": [b, "x"]}, "n": 1}) == [("reason", a), ("outcome.notes.0", b)]


def test_the_clerk_is_told_what_was_found():
    assert warning_zh("电话13800138000") and "手机号码" in warning_zh("电话13800138000")
    assert warning_zh("没有号码") is None and warning_zh(None) is None
    assert "身份证号码、手机号码" in masked_zh(seal(f"{ID} 13800138000"))
    assert masked_zh("plain", None) is None
