"""Chinese identifiers: validation, masking and dispute reference numbers.

Pure functions (no I/O). Validators return the normalised value so the rest of the system stores one
spelling; masks never raise, because they run on display paths where a crash is worse than a blank.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date

from router.domain.errors import ValidationError

__all__ = [
    "PROVINCE_CODES",
    "COMPOUND_SURNAMES",
    "validate_id_number",
    "id_number_birth_date",
    "id_number_check_char",
    "validate_mobile",
    "validate_credit_code",
    "credit_code_check_char",
    "mask_id_number",
    "mask_phone",
    "mask_credit_code",
    "mask_name",
    "format_reference",
    "parse_reference",
]

# --- resident ID number (GB 11643-1999) ---------------------------------------------------------------

PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
                      *range(61, 66))]
    + ["71", "81", "82", "83", "91"]
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_MAP = "10X98765432"
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_MIN_BIRTH_YEAR = 1900


def id_number_check_char(body17: str) -> str:
    """Check character for the first 17 digits of an ID number (ISO 7064 MOD 11-2)."""
    if not re.fullmatch(r"[0-9]{17}", body17 or ""):
        raise ValidationError("身份证号码前17位应为数字",
                              "the first 17 characters of an ID number must be digits", field="id_number")
    total = sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_MAP[total % 11]


def _birth_date(normalised: str) -> date:
    y, m, d = int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14])
    try:
        return date(y, m, d)
    except ValueError:
        raise ValidationError(f"身份证号码中的出生日期无效：{normalised[6:14]}",
                              f"ID number contains an invalid birth date: {normalised[6:14]}",
                              field="id_number") from None


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Check an 18-character resident ID number and return it normalised (trimmed, uppercase X).

    Catching typos at intake matters: the number is the key for duplicate detection and party lookup.
    """
    if not isinstance(value, str):
        raise ValidationError("身份证号码应为文本", "ID number must be a string", field="id_number")
    v = value.strip().upper()
    if not _ID_RE.fullmatch(v):
        raise ValidationError("身份证号码应为18位：17位数字加1位校验码（数字或X）",
                              "ID number must be 18 characters: 17 digits followed by a digit or X",
                              field="id_number")
    if v[:2] not in PROVINCE_CODES:
        raise ValidationError(f"身份证号码前两位不是有效的省级行政区代码：{v[:2]}",
                              f"ID number does not start with a valid province code: {v[:2]}",
                              field="id_number")
    born = _birth_date(v)
    if born.year < _MIN_BIRTH_YEAR:
        raise ValidationError(f"身份证号码中的出生日期早于{_MIN_BIRTH_YEAR}年",
                              f"ID number birth date is before {_MIN_BIRTH_YEAR}", field="id_number")
    if born > (today or date.today()):
        raise ValidationError("身份证号码中的出生日期晚于今天", "ID number birth date is in the future",
                              field="id_number")
    if id_number_check_char(v[:17]) != v[17]:
        raise ValidationError("身份证号码校验位错误，请核对号码", "ID number check digit is wrong",
                              field="id_number")
    return v


def id_number_birth_date(value: str) -> date:
    """Birth date encoded in an ID number (digits 7-14); the number is fully validated first."""
    return _birth_date(validate_id_number(value))


# --- mobile phone -------------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-]+")


def validate_mobile(value: str) -> str:
    """Check a mainland mobile number and return its 11 digits, so one number has one stored form."""
    if not isinstance(value, str):
        raise ValidationError("手机号码应为文本", "mobile number must be a string", field="phone")
    v = _PHONE_SEPARATORS.sub("", value)
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("86") and len(v) == 13:
        v = v[2:]
    if not re.fullmatch(r"[0-9]{11}", v):
        raise ValidationError("手机号码应为11位数字（可带+86前缀）",
                              "mobile number must be 11 digits (optionally prefixed with +86)", field="phone")
    if not _MOBILE_RE.fullmatch(v):
        raise ValidationError("手机号码应以13至19开头", "mobile number must start with 13-19", field="phone")
    return v


# --- unified social credit code (GB 32100-2015) -------------------------------------------------------

_CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_VALUE = {c: i for i, c in enumerate(_CC_ALPHABET)}
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CC_CHARS = "0-9A-HJ-NPQRTUWXY"
_CC_RE = re.compile(rf"[{_CC_CHARS}]{{2}}[0-9]{{6}}[{_CC_CHARS}]{{10}}")


def credit_code_check_char(body17: str) -> str:
    """Check character for the first 17 characters of a unified social credit code."""
    if len(body17) != 17 or any(c not in _CC_VALUE for c in body17):
        raise ValidationError("统一社会信用代码前17位含有不允许的字符",
                              "the first 17 characters of a credit code contain characters not allowed",
                              field="credit_code")
    total = sum(_CC_VALUE[c] * w for c, w in zip(body17, _CC_WEIGHTS, strict=True))
    return _CC_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Check an organisation's 统一社会信用代码 and return it uppercase.

    Layout: registration department, organisation type, 6-digit division code, 9-character
    organisation code, check character. Letters I, O, Z, S and V never occur.
    """
    if not isinstance(value, str):
        raise ValidationError("统一社会信用代码应为文本", "credit code must be a string", field="credit_code")
    v = value.strip().upper()
    if len(v) != 18:
        raise ValidationError(f"统一社会信用代码应为18位，实际为{len(v)}位",
                              f"credit code must be 18 characters, got {len(v)}", field="credit_code")
    bad = sorted({c for c in v if c not in _CC_VALUE})
    if bad:
        shown = "、".join(bad)
        raise ValidationError(f"统一社会信用代码含有不允许的字符：{shown}（不使用I、O、Z、S、V）",
                              f"credit code contains characters not allowed: {' '.join(bad)} "
                              "(I, O, Z, S, V are never used)", field="credit_code")
    if not _CC_RE.fullmatch(v):
        raise ValidationError("统一社会信用代码第3至8位应为6位数字的行政区划码",
                              "credit code characters 3-8 must be a 6-digit division code",
                              field="credit_code")
    if credit_code_check_char(v[:17]) != v[17]:
        raise ValidationError("统一社会信用代码校验码错误，请核对代码",
                              "credit code check character is wrong", field="credit_code")
    return v


# --- masking ------------------------------------------------------------------------------------------

COMPOUND_SURNAMES: frozenset[str] = frozenset(
    ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
     "轩辕", "令狐", "端木"]
)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _keep_ends(value: object, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters, star the middle; star everything if nothing would be hidden."""
    v = _as_text(value).strip()
    if len(v) <= head + tail:
        return "*" * len(v)
    return v[:head] + "*" * (len(v) - head - tail) + v[len(v) - tail:]


def mask_id_number(value: str) -> str:
    """ID number for display and logs: "110***********4514". Never raises."""
    return _keep_ends(value, 3, 4)


def mask_phone(value: str) -> str:
    """Mobile for display and logs: "138****8000" (a +86 prefix is dropped first). Never raises."""
    text = _as_text(value)
    with contextlib.suppress(ValidationError):
        text = validate_mobile(text)
    return _keep_ends(text, 3, 4)


def mask_credit_code(value: str) -> str:
    """Credit code for display: first 4 and last 4 kept. Never raises."""
    return _keep_ends(value, 4, 4)


def mask_name(name: str) -> str:
    """Person's name for display: surname + 某 ("张三" -> "张某", "欧阳娜娜" -> "欧阳某"). Never raises."""
    n = _as_text(name).strip()
    if not n:
        return ""
    if len(n) == 1:
        return "某"
    if len(n) >= 3 and n[:2] in COMPOUND_SURNAMES:
        return n[:2] + "某"
    return n[0] + "某"


# --- dispute reference numbers ------------------------------------------------------------------------

_OPEN_BRACKETS = "〔[【［(（"
_CLOSE_BRACKETS = "〕]】］)）"
_REF_RE = re.compile(
    rf"(?P<prefix>[^{re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS)}\s]+)\s*"
    rf"[{re.escape(_OPEN_BRACKETS)}]\s*(?P<year>[0-9]{{4}})\s*[{re.escape(_CLOSE_BRACKETS)}]\s*"
    r"(?P<seq>[0-9]+)\s*号"
)
_MIN_YEAR, _MAX_YEAR = 1900, 9999


def _check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix.strip():
        raise ValidationError("文号前缀不能为空", "reference prefix must not be empty", field="reference")
    p = prefix.strip()
    if any(c in _OPEN_BRACKETS + _CLOSE_BRACKETS or c.isspace() for c in p):
        raise ValidationError(f"文号前缀不能含有括号或空格：{p}",
                              f"reference prefix must not contain brackets or spaces: {p!r}",
                              field="reference")
    return p


def format_reference(prefix: str, year: int, seq: int) -> str:
    """Official-style reference number, e.g. ``诸暨调〔2026〕000123号``.

    The sequence is padded to 6 digits so references sort and read uniformly; larger numbers keep all digits.
    """
    p = _check_prefix(prefix)
    if isinstance(year, bool) or not isinstance(year, int) or not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValidationError(f"文号年份无效：{year}", f"reference year is invalid: {year!r}",
                              field="reference")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValidationError(f"文号序号应为正整数：{seq}",
                              f"reference sequence must be a positive integer: {seq!r}", field="reference")
    return f"{p}〔{year}〕{seq:06d}号"


def parse_reference(text: str) -> tuple[str, int, int]:
    """Split a reference number into (prefix, year, seq), e.g. for search.

    Tolerates what people type: surrounding spaces, [] / 【】 / （） instead of 〔〕, unpadded sequence.
    """
    if not isinstance(text, str):
        raise ValidationError("文号应为文本", "reference must be a string", field="reference")
    m = _REF_RE.fullmatch(text.strip())
    if m is None:
        raise ValidationError(f"文号格式不正确，应形如“诸暨调〔2026〕000123号”：{text.strip()}",
                              "reference is malformed, expected e.g. '诸暨调〔2026〕000123号': "
                              f"{text.strip()!r}", field="reference")
    year, seq = int(m["year"]), int(m["seq"])
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValidationError(f"文号年份无效：{year}", f"reference year is invalid: {year}",
                              field="reference")
    if seq < 1:
        raise ValidationError("文号序号应为正整数", "reference sequence must be a positive integer",
                              field="reference")
    return m["prefix"], year, seq
