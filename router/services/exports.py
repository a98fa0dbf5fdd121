"""Every report as a file (docs/reports.md §7): CSV that Excel opens in Chinese (UTF-8 with a BOM),
and XLSX (XlsxWriter) with codes kept as text. Both guard against formula injection: a text cell
that starts with = + - @ (or a tab or carriage return) is written with a leading apostrophe in CSV,
and always as a text cell, never a formula, in XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


@dataclass(frozen=True)
class Table:
    """A report flattened: `columns` are (key, header) pairs, `rows` dicts by key (an iterator is fine)."""

    name: str
    columns: Sequence[tuple[str, str]]
    rows: Iterable[dict[str, Any]]


# An instant as the schemas dump it (UTC); the files give every instant in the centre's zone.
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _text(v: Any, tz: tzinfo) -> Any:
    if isinstance(v, str) and INSTANT.match(v):
        v = datetime.fromisoformat(v)
    if isinstance(v, datetime):
        return v.astimezone(tz).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def guard(v: Any) -> Any:
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v


def csv_chunks(table: Table, tz: tzinfo) -> Iterator[bytes]:
    """The CSV a row at a time, so a long list streams instead of being built in memory."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    w.writerow([h for _, h in table.columns])
    for i, row in enumerate(table.rows):
        w.writerow([guard(_text(row.get(k), tz)) if row.get(k) is not None else "" for k, _ in table.columns])
        if i % 200 == 199:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def xlsx_bytes(table: Table, tz: tzinfo) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(table.name[:31])
    bold = book.add_format({"bold": True})
    for c, (_, header) in enumerate(table.columns):
        sheet.write_string(0, c, header, bold)
        sheet.set_column(c, c, max(10, min(40, len(header) * 2 + 2)))
    for r, row in enumerate(table.rows, start=1):
        for c, (key, _) in enumerate(table.columns):
            v = _text(row.get(key), tz)
            if v is None:
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                sheet.write_number(r, c, v)
            elif isinstance(v, Decimal):
                sheet.write_number(r, c, float(v))
            else:
                sheet.write_string(r, c, str(v))
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def render(table: Table, fmt: str, tz: tzinfo) -> Iterable[bytes]:
    """The file's bytes in `fmt` (csv | xlsx), as chunks: an entry point streams them as they come."""
    return csv_chunks(table, tz) if fmt == "csv" else [xlsx_bytes(table, tz)]


def wants(fmt: str | None, accept: str | None) -> str:
    """json | csv | xlsx: `?format=` first, else `Accept: text/csv` asks for CSV."""
    if fmt and fmt != "json":
        return fmt
    if fmt is None and accept and "text/csv" in accept and "application/json" not in accept:
        return "csv"
    return "json"
