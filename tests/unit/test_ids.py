"""Rules for Chinese identifiers (router.domain.ids), checked against hand-worked examples and an
independent reference implementation of both check-character algorithms."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.domain import ids
from router.domain.errors import ValidationError

TODAY = date(2026, 3, 15)

# --- independent reference implementations (written differently from the module on purpose) ----------


def ref_id_check(body17: str) -> str:
    """ISO 7064 MOD 11-2 in its textbook form: weight_i = 2^(17-i) mod 11, and the check value c
    makes (sum + c) == 1 (mod 11); c == 10 is written X."""
    s = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    c = (1 - s) % 11
    return "X" if c == 10 else str(c)


CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ref_cc_check(body17: str) -> str:
    """GB 32100-2015: weight_i = 3^i mod 31, check value c makes (sum + c) == 0 (mod 31)."""
    s = sum(CC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body17))
    return CC_ALPHABET[-s % 31]


def test_reference_weights_match_the_standard_tables():
    assert [pow(2, 17 - i, 11) for i in range(17)] == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert [pow(3, i, 31) for i in range(17)] == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30,
                                                  28]


# --- ID numbers -------------------------------------------------------------------------------------

# 110101199003074514 by hand, digits x weights (7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2):
#   1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 1*4 + 1*2 + 9*1 + 9*6 + 0*3 + 0*7 + 3*9 + 0*10 + 7*5 + 4*8 + 5*4 + 1*2
#   = 7+9+0+5+0+4+2+9+54+0+0+27+0+35+32+20+2 = 206; 206 mod 11 = 8; "10X98765432"[8] = "4"  -> ends in 4
# 11010519491231002X by hand:
#   1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2
#   = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2; "10X98765432"[2] = "X" -> ends in X
VALID_IDS = ["110101199003074514", "11010519491231002X"]


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_id_numbers(value):
    assert ids.validate_id_number(value, today=TODAY) == value
    assert ref_id_check(value[:17]) == value[17]
    assert ids.id_number_check_char(value[:17]) == value[17]


def test_birth_dates():
    assert ids.id_number_birth_date("110101199003074514") == date(1990, 3, 7)
    assert ids.id_number_birth_date("11010519491231002X") == date(1949, 12, 31)


def test_lowercase_x_is_normalised_and_whitespace_trimmed():
    assert ids.validate_id_number("11010519491231002x", today=TODAY) == "11010519491231002X"
    assert ids.validate_id_number("  110101199003074514 ", today=TODAY) == "110101199003074514"


def _expect(fn, *args, contains_en: str, contains_zh: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert contains_en in info.value.message_en
    assert contains_zh in info.value.message_zh
    return info.value


@pytest.mark.parametrize("wrong", ["0", "1", "2", "3", "5", "9", "X"])
def test_wrong_check_digit(wrong):
    _expect(ids.validate_id_number, "11010119900307451" + wrong, today=TODAY,
            contains_en="check digit is wrong", contains_zh="校验位错误")


@pytest.mark.parametrize("value", ["", "11010119900307451", "1101011990030745144", "11010119900307451Y",
                                   "X10101199003074514", "11010119900307451４", "110101 99003074514"])
def test_bad_length_or_format(value):
    _expect(ids.validate_id_number, value, today=TODAY, contains_en="18 characters", contains_zh="18位")


def _make_id(province: str, born: str, tail3: str = "123", region: str = "0101") -> str:
    body = province + region + born + tail3
    return body + ref_id_check(body)


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60",
                                      "66", "70", "72", "80", "84", "90", "92", "99"])
def test_bad_province(province):
    # the check digit is right, so only the province can be the reason
    _expect(ids.validate_id_number, _make_id(province, "19900307"), today=TODAY,
            contains_en="province", contains_zh="省级")


@pytest.mark.parametrize("province", sorted(ids.PROVINCE_CODES))
def test_every_listed_province_is_accepted(province):
    assert ids.validate_id_number(_make_id(province, "19900307"), today=TODAY)


def test_province_set_is_exactly_the_standard_one():
    expected = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
    assert {str(n) for n in expected} == ids.PROVINCE_CODES


@pytest.mark.parametrize("born", ["19900230", "19000229", "19901301", "19900001", "19900100", "20230229"])
def test_impossible_birth_date(born):
    _expect(ids.validate_id_number, _make_id("11", born), today=TODAY,
            contains_en="invalid birth date", contains_zh="出生日期无效")


def test_leap_day_is_a_real_date():
    assert ids.id_number_birth_date(_make_id("33", "20000229")) == date(2000, 2, 29)


def test_future_birth_date():
    _expect(ids.validate_id_number, _make_id("11", "20260316"), today=TODAY,
            contains_en="in the future", contains_zh="晚于今天")
    # born today is fine
    assert ids.validate_id_number(_make_id("11", "20260315"), today=TODAY)


def test_birth_date_before_1900():
    _expect(ids.validate_id_number, _make_id("11", "18991231"), today=TODAY,
            contains_en="before 1900", contains_zh="1900")
    assert ids.validate_id_number(_make_id("11", "19000101"), today=TODAY)


def test_today_defaults_to_the_real_date():
    assert ids.validate_id_number("110101199003074514") == "110101199003074514"
    with pytest.raises(ValidationError):
        ids.validate_id_number(_make_id("11", "29991231"))


def test_id_error_names_the_field():
    err = _expect(ids.validate_id_number, "110101199003074515", today=TODAY,
                  contains_en="check digit", contains_zh="校验位")
    assert err.field == "id_number"


@st.composite
def id_bodies(draw) -> str:
    province = draw(st.sampled_from(sorted(ids.PROVINCE_CODES)))
    region = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    tail = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return f"{province}{region}{born:%Y%m%d}{tail}"


@given(id_bodies(), st.sampled_from(list("0123456789X")))
def test_property_only_the_computed_check_char_validates(body, check):
    expected = ref_id_check(body)
    if check == expected:
        assert ids.validate_id_number(body + check, today=TODAY) == body + check
        assert ids.validate_id_number(body + check.lower(), today=TODAY) == body + check
    else:
        with pytest.raises(ValidationError) as info:
            ids.validate_id_number(body + check, today=TODAY)
        assert "check digit" in info.value.message_en


# --- mobile numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["13800138000", "+8613800138000", "8613800138000", "+86 138 0013 8000",
                                   "138-0013-8000", " 138 0013 8000 ", "+86-138-0013-8000"])
def test_valid_mobile_is_normalised(value):
    assert ids.validate_mobile(value) == "13800138000"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_prefixes_13_to_19(prefix):
    assert ids.validate_mobile(prefix + "912345678") == prefix + "912345678"


@pytest.mark.parametrize("value", ["138001380001", "1380013800", "", "1380013800a", "+8713800138000",
                                   "+86138001380001", "０13800138000"])
def test_mobile_wrong_length_or_format(value):
    _expect(ids.validate_mobile, value, contains_en="11 digits", contains_zh="11位")


@pytest.mark.parametrize("value", ["12800138000", "10800138000", "11800138000", "23800138000",
                                   "+8612800138000", "86138001380"])
def test_mobile_wrong_prefix(value):
    _expect(ids.validate_mobile, value, contains_en="start with 13-19", contains_zh="13至19")


# --- unified social credit codes --------------------------------------------------------------------

# 91350100M000100Y43 by hand. Values (alphabet index; M=21, Y=30):
#   9 1 3 5 0 1 0 0 21 0 0 0 1 0 0 30 4
# x weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28:
#   9 + 3 + 27 + 135 + 0 + 26 + 0 + 0 + 420 + 0 + 0 + 0 + 8 + 0 + 0 + 900 + 112 = 1640
#   1640 mod 31 = 28 (31*52 = 1612); 31 - 28 = 3 -> check char "3"
KNOWN_CREDIT_CODE = "91350100M000100Y43"


def test_known_credit_code():
    assert ref_cc_check(KNOWN_CREDIT_CODE[:17]) == "3"
    assert ids.credit_code_check_char(KNOWN_CREDIT_CODE[:17]) == "3"
    assert ids.validate_credit_code(KNOWN_CREDIT_CODE) == KNOWN_CREDIT_CODE


def test_credit_code_is_uppercased_and_trimmed():
    assert ids.validate_credit_code(" 91350100m000100y43 ") == KNOWN_CREDIT_CODE


@pytest.mark.parametrize("body", ["91330681MA2BCDEFG", "11100000000013127", "52330681MA2B0J0X1",
                                  "Y1330681000000000", "9133068100000000Y"])
def test_generated_credit_codes(body):
    code = body + ref_cc_check(body)
    assert ids.validate_credit_code(code) == code


def test_check_value_31_maps_to_zero():
    # sum == 0 (mod 31) must give check "0", not an out-of-range index: an all-zero body has sum 0
    assert ids.credit_code_check_char("0" * 17) == "0"
    assert ids.validate_credit_code("0" * 18) == "0" * 18


@pytest.mark.parametrize("wrong", ["0", "2", "4", "9", "A", "Y"])
def test_wrong_credit_check_char(wrong):
    _expect(ids.validate_credit_code, KNOWN_CREDIT_CODE[:17] + wrong,
            contains_en="check character is wrong", contains_zh="校验码错误")


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters(letter):
    code = "91350100" + letter + KNOWN_CREDIT_CODE[9:]
    err = _expect(ids.validate_credit_code, code, contains_en="not allowed", contains_zh="不允许")
    assert letter in err.message_en
    assert err.field == "credit_code"


@pytest.mark.parametrize("value", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_credit_code_wrong_length(value):
    _expect(ids.validate_credit_code, value, contains_en="18 characters", contains_zh="18位")


def test_credit_code_division_part_must_be_digits():
    body = "913501A0M000100Y4"
    _expect(ids.validate_credit_code, body + ref_cc_check(body),
            contains_en="division", contains_zh="行政区划")


@given(st.from_regex(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{9}", fullmatch=True),
       st.sampled_from(CC_ALPHABET))
def test_property_credit_code_check_char(body, check):
    if check == ref_cc_check(body):
        assert ids.validate_credit_code(body + check) == body + check
    else:
        with pytest.raises(ValidationError):
            ids.validate_credit_code(body + check)


# --- masking ----------------------------------------------------------------------------------------

def test_mask_id_number():
    assert ids.mask_id_number("110101199003074514") == "110***********4514"
    assert ids.mask_id_number("11010519491231002X") == "110***********002X"


def test_mask_phone():
    assert ids.mask_phone("13800138000") == "138****8000"
    assert ids.mask_phone("+86 138-0013-8000") == "138****8000"


def test_mask_credit_code():
    assert ids.mask_credit_code(KNOWN_CREDIT_CODE) == "9135" + "*" * 10 + "0Y43"


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张某"), ("王小明", "王某"), ("欧阳娜娜", "欧阳某"), ("司马光", "司马某"), ("诸葛亮", "诸葛某"),
    ("欧阳", "欧某"), ("欧某某", "欧某"), ("李", "某"), ("", ""), ("  张三 ", "张某"),
])
def test_mask_name(name, masked):
    assert ids.mask_name(name) == masked


@pytest.mark.parametrize("fn", [ids.mask_id_number, ids.mask_phone, ids.mask_credit_code, ids.mask_name])
@pytest.mark.parametrize("value", ["", "1", "12", "1234567", "12345678", "abc", "   ", "人", None, 12345,
                                   "x" * 40, "+86", "欧阳"])
def test_masks_never_raise(fn, value):
    out = fn(value)
    assert isinstance(out, str)


@pytest.mark.parametrize("fn", [ids.mask_id_number, ids.mask_phone])
@pytest.mark.parametrize("value", ["1", "1234", "1234567"])
def test_short_values_are_fully_masked(fn, value):
    assert fn(value) == "*" * len(value)


def test_short_credit_code_fully_masked():
    assert ids.mask_credit_code("12345678") == "********"
    assert ids.mask_credit_code("123456789") == "1234*6789"


def test_masks_keep_nothing_in_the_middle():
    masked = ids.mask_id_number("110101199003074514")
    assert "19900307" not in masked
    assert len(masked) == 18


# --- reference numbers ------------------------------------------------------------------------------

def test_format_reference():
    assert ids.format_reference("诸暨调", 2026, 123) == "诸暨调〔2026〕000123号"
    assert ids.format_reference("诸暨调", 2026, 1) == "诸暨调〔2026〕000001号"
    assert ids.format_reference("诸暨调", 2026, 999999) == "诸暨调〔2026〕999999号"
    assert ids.format_reference("诸暨调", 2026, 1234567) == "诸暨调〔2026〕1234567号"


@pytest.mark.parametrize(("prefix", "year", "seq"), [("诸暨调", 2026, 123), ("浙绍调", 2025, 1),
                                                     ("诸暨调", 2030, 1234567), ("A调", 1999, 999999)])
def test_reference_round_trip(prefix, year, seq):
    text = ids.format_reference(prefix, year, seq)
    assert ids.parse_reference(text) == (prefix, year, seq)


@given(st.text(alphabet="诸暨调浙绍市区镇ABC号", min_size=1, max_size=8), st.integers(1900, 9999),
       st.integers(1, 10**9))
def test_property_reference_round_trip(prefix, year, seq):
    assert ids.parse_reference(ids.format_reference(prefix, year, seq)) == (prefix, year, seq)


@pytest.mark.parametrize("text", ["诸暨调[2026]000123号", "诸暨调【2026】123号", " 诸暨调（2026）000123号 ",
                                  "诸暨调 〔2026〕 000123号"])
def test_parse_reference_tolerates_typing_variants(text):
    assert ids.parse_reference(text) == ("诸暨调", 2026, 123)


@pytest.mark.parametrize("text", ["", "诸暨调", "〔2026〕000123号", "诸暨调〔26〕000123号",
                                  "诸暨调〔2026〕号", "诸暨调〔2026〕000123", "诸暨调2026000123号",
                                  "诸暨调〔2026〕00012a号", "诸暨调〔2026〕000000号",
                                  "诸暨调〔1899〕000001号", "诸暨调〔2026〕000123号x"])
def test_parse_reference_rejects_bad_text(text):
    err = _expect(ids.parse_reference, text, contains_en="reference", contains_zh="文号")
    assert err.field == "reference"


@pytest.mark.parametrize(("prefix", "year", "seq"), [("", 2026, 1), ("  ", 2026, 1), ("诸暨〔调", 2026, 1),
                                                     ("诸 暨调", 2026, 1), ("诸暨调", 1899, 1),
                                                     ("诸暨调", 10000, 1), ("诸暨调", 2026, 0),
                                                     ("诸暨调", 2026, -5), ("诸暨调", True, 1)])
def test_format_reference_rejects_bad_parts(prefix, year, seq):
    with pytest.raises(ValidationError):
        ids.format_reference(prefix, year, seq)
