"""Workbooks written by hand, part by part, as an odd or a hostile writer would:
a wrong size claimed, cells where no one looks, parts that unpack to gigabytes."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def cell(row: int, column: int, value: object, formula: str | None = None) -> str:
    """A cell: text inline, a number as a number, a formula with its result if given."""
    reference = f"{get_column_letter(column)}{row}"
    if formula is not None:
        result = "" if value is None else f"<v>{value}</v>"
        return f'<c r="{reference}"><f>{escape(formula)}</f>{result}</c>'
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    return f'<c r="{reference}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def row(number: int, values: Sequence[object], *extra: str) -> str:
    """A row of values from column A, and any cells written out by hand."""
    cells = "".join(cell(number, column, v) for column, v in enumerate(values, 1) if v != "")
    return f'<row r="{number}">{cells}{"".join(extra)}</row>'


def write_workbook(
    path: Path,
    rows: Iterable[str],
    *,
    dimension: str | None = None,
    sheet: str = "农户",
    shared_strings: Iterable[bytes] | None = None,
    prologue: str = "",
) -> Path:
    """A one-sheet workbook whose sheet data is ``rows`` (XML), streamed into the zip.

    Without a ``dimension`` the sheet does not say its size, so openpyxl reads
    all of it as it opens the workbook (as with files from many writers).
    """
    strings = shared_strings is not None
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{TYPES}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{TYPES}.worksheet+xml"/>'
            + (
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{TYPES}.sharedStrings+xml"/>'
                if strings
                else ""
            )
            + "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{DOCUMENT}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOCUMENT}">'
            f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{DOCUMENT}/worksheet" Target="worksheets/sheet1.xml"/>'
            + (
                f'<Relationship Id="rId2" Type="{DOCUMENT}/sharedStrings" Target="sharedStrings.xml"/>'
                if strings
                else ""
            )
            + "</Relationships>",
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                (
                    f'<?xml version="1.0" encoding="UTF-8"?>{prologue}<worksheet xmlns="{MAIN}">'
                    + (f'<dimension ref="{dimension}"/>' if dimension else "")
                    + "<sheetData>"
                ).encode()
            )
            for chunk in _batched(rows):
                part.write(chunk.encode())
            part.write(b"</sheetData></worksheet>")
        if shared_strings is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                for data in shared_strings:
                    part.write(data)
    return path


def _batched(rows: Iterable[str], size: int = 10_000) -> Iterable[str]:
    batch: list[str] = []
    for text in rows:
        batch.append(text)
        if len(batch) == size:
            yield "".join(batch)
            batch = []
    yield "".join(batch)
