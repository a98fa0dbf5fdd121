"""ID numbers and mobile numbers typed into free text (a summary, a note, a reason): found with the
same checks as the parties' own fields (router/domain/ids.py), masked the same way.

A clerk writes "对方电话13800138000" into a summary as often as into the phone field; the field's
number is encrypted and masked, the summary's was shown to every reader. What is found here is
masked before anything else sees the text, and the original travels beside it as a `Sealed` value
so the store can keep it encrypted (docs/domain.md §9). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from router.domain.errors import ValidationError
from router.domain.ids import mask_id_number, mask_phone, validate_id_number, validate_mobile

__all__ = ["Found", "Sealed", "find", "mask", "seal", "sealed_in", "joined", "unsealed", "masked_zh", "warning_zh",
           "KIND_ZH"]

ID_NUMBER, MOBILE = "id_number", "phone"
KIND_ZH = {ID_NUMBER: "身份证号码", MOBILE: "手机号码"}

# Full-width digits, X and plus as an IME types them, mapped one character to one, so a match's
# place in the folded text is its place in the original.
_FOLD = str.maketrans("０１２３４５６７８９ｘＸ＋－\u3000\u00a0\u2007\u202f", "0123456789xX+-    ")
_SEP = r"[ \-]?"  # one space or hyphen between the groups people write: 6-8-4, 3-4-4
# A number stands alone: no digit runs on into it (a longer run is a case or account number).
_ID = re.compile(rf"(?<![0-9])(\d{{6}}){_SEP}(\d{{8}}){_SEP}(\d{{3}}[0-9Xx])(?![0-9Xx])")
_MOBILE = re.compile(rf"(?<![0-9+])(?:\+?86{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)")


@dataclass(frozen=True)
class Found:
    kind: str  # ID_NUMBER or MOBILE
    start: int
    end: int
    value: str  # the number in its one stored form (ids.py)

    @property
    def masked(self) -> str:
        return mask_id_number(self.value) if self.kind == ID_NUMBER else mask_phone(self.value)


def find(text: str) -> list[Found]:
    """Every valid ID number and mobile number in `text`, in order. A number that fails its check
    (a wrong check digit, an impossible birth date) is not one: case numbers, amounts and bank
    references are left alone."""
    if not text or not any(c.isdigit() for c in text):
        return []
    folded = text.translate(_FOLD)
    found: list[Found] = []
    for m in _ID.finditer(folded):
        try:
            found.append(Found(ID_NUMBER, m.start(), m.end(), validate_id_number("".join(m.groups()))))
        except ValidationError:
            continue
    taken = [(f.start, f.end) for f in found]
    for m in _MOBILE.finditer(folded):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        try:
            found.append(Found(MOBILE, m.start(), m.end(), validate_mobile("".join(m.groups()))))
        except ValidationError:
            continue
    return sorted(found, key=lambda f: f.start)


def mask(text: str) -> tuple[str, list[Found]]:
    """`text` with every number `find` finds replaced by its mask, and what was found."""
    found = find(text)
    if not found:
        return text, found
    parts, at = [], 0
    for f in found:
        parts += [text[at:f.start], f.masked]
        at = f.end
    parts.append(text[at:])
    return "".join(parts), found


class Sealed(str):
    """Free text with its numbers masked, which still knows what was typed (`original`) and what was
    found in it (`kinds`). It *is* the masked string: whatever stores, prints, hashes or sends it
    sees the mask only. Only the store looks at `original`, to keep it encrypted; a copy made by
    string operations (an f-string, `.strip()`) is a plain str of the masked text, never of the
    original."""

    original: str
    kinds: tuple[str, ...]

    def __new__(cls, masked: str, original: str, kinds: tuple[str, ...]) -> Sealed:
        s = super().__new__(cls, masked)
        s.original, s.kinds = original, kinds
        return s

    def strip(self, chars: str | None = None) -> str:
        """Trimmed, and still sealed: whitespace at the ends is the same in the mask and the original."""
        if chars is not None:
            return str(self).strip(chars)
        return Sealed(str(self).strip(), self.original.strip(), self.kinds)

    def __reduce__(self) -> Any:  # pickled or deep-copied, it stays the mask
        return (str, (str(self),))


def seal(text: str) -> str:
    """`text` itself when it holds no number, else its `Sealed` mask."""
    masked, found = mask(text)
    if not found:
        return text
    return Sealed(masked, text, tuple(dict.fromkeys(f.kind for f in found)))


def joined(*parts: str) -> str:
    """The parts as one string, still sealed when one of them was: "申请人撤回：" + a reason typed with
    a phone in it keeps the reason's original (a plain `+` or f-string would keep only the mask)."""
    sealed = [p for p in parts if isinstance(p, Sealed)]
    text = "".join(str(p) for p in parts)
    if not sealed:
        return text
    return Sealed(text, "".join(p.original if isinstance(p, Sealed) else p for p in parts),
                  tuple(dict.fromkeys(k for p in sealed for k in p.kinds)))


def unsealed(value: Any) -> Any:
    """A JSON-like value with every `Sealed` string back to what was typed: for telling two requests
    apart (a retry is the same request only if the same numbers were typed), never for storing."""
    if isinstance(value, Sealed):
        return value.original
    if isinstance(value, dict):
        return {k: unsealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unsealed(v) for v in value]
    return value


def sealed_in(value: Any, path: str = "") -> list[tuple[str, Sealed]]:
    """Every `Sealed` string inside a JSON-like value, with its dotted path (`parties.0.note`)."""
    if isinstance(value, Sealed):
        return [(path, value)]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in sealed_in(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [hit for i, v in enumerate(value) for hit in sealed_in(v, f"{path}.{i}" if path else str(i))]
    return []


def masked_zh(*values: Any) -> str | None:
    """What a clerk is told when something they typed was masked, or None when nothing was."""
    kinds = dict.fromkeys(k for v in values for _, s in sealed_in(v) for k in s.kinds)
    if not kinds:
        return None
    return f"所填文字中的{'、'.join(KIND_ZH[k] for k in kinds)}已按掩码保存和显示，原文已加密留存，仅依法调阅"


def warning_zh(text: str | None) -> str | None:
    """The form's warning beside a free-text field about to be saved with numbers in it, or None."""
    kinds = dict.fromkeys(f.kind for f in find(text or ""))
    if not kinds:
        return None
    what = "、".join(KIND_ZH[k] for k in kinds)
    return (f"这里填有{what}：保存后一律按掩码显示（如 138****8000），原文加密留存、仅依法调阅。"
            "当事人的号码请填在当事人信息栏。")
