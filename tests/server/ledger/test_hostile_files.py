"""Hostile and odd spreadsheets, imported with ``minqing import`` in 600 MB of address
space: each is refused with a message naming the problem and the limit, in Chinese
and English, and nothing is written; or, when it is a legitimate file, read right."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook

from server.ledger import spreadsheets
from tests.cli import run_minqing
from tests.server.ledger.fixtures import HOUSEHOLD_HEADER, database_counts, write_sheet
from tests.server.ledger.workbooks import cell, row, write_workbook

# The address space the import runs in: a few times what a county's file takes
# (under 100 MB resident), far below what the hostile files would need.
MEMORY = 600 * 1024 * 1024
GOOD = ("QL-1", "前楼镇", "前楼村", "第1网格", "林春武", 4)


def _rows(count: int) -> Callable[[Path], Path]:
    return lambda folder: write_workbook(
        folder / "rows.xlsx",
        [row(1, HOUSEHOLD_HEADER), *(row(n, ["x"]) for n in range(2, count + 2))],
    )


def _last_column_of_100_000_rows(folder: Path) -> Path:
    return write_workbook(
        folder / "wide.xlsx",
        [row(1, HOUSEHOLD_HEADER), *(row(n, [], cell(n, 16_384, "x")) for n in range(2, 100_002))],
    )


def _zip_bomb(folder: Path) -> Path:
    # 2 GB of shared strings, deflated to about 8 MB.
    text = b"<si><t>" + b"a" * (1 << 24) + b"</t></si>"
    return write_workbook(
        folder / "bomb.xlsx",
        [row(1, HOUSEHOLD_HEADER)],
        shared_strings=(text for _ in range(128)),
    )


def _billion_laughs(folder: Path) -> Path:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9)
    )
    return write_workbook(
        folder / "laughs.xlsx",
        [
            row(1, HOUSEHOLD_HEADER),
            '<row r="2"><c r="A2" t="inlineStr"><is><t>&j;</t></is></c></row>',
        ],
        prologue=f"<!DOCTYPE worksheet [{entities}]>",
    )


def _csv_line(size: int) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / f"line_{size}.csv"
        with path.open("w", encoding="utf-8") as file:
            file.write(",".join(HOUSEHOLD_HEADER) + "\n")
            file.write("QL-1," + "前" * size + "\n")
        return path

    return write


def _password(folder: Path) -> Path:
    plain = write_sheet(folder / "plain.xlsx", [HOUSEHOLD_HEADER, GOOD])
    path = folder / "password.xlsx"
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt("minqing", target)
    return path


def _not_a_workbook(folder: Path) -> Path:
    path = folder / "photo.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 1000)
    path.write_bytes(buffer.getvalue())
    return path


def _damaged(folder: Path) -> Path:
    path = write_workbook(
        folder / "damaged.xlsx",
        [row(1, HOUSEHOLD_HEADER), *(row(n, GOOD) for n in range(2, 2000))],
    )
    with zipfile.ZipFile(path) as archive:
        part = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    # The local header is 30 bytes, then the name and the extra field.
    start = part.header_offset + 30 + len(part.filename.encode()) + len(part.extra)
    middle = start + part.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(data)
    return path


def _bytes(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    return write


# What each file is, how to write it, and parts of the message it must get.
REFUSED: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "a value in the last column of 100,000 rows": (
        _last_column_of_100_000_rows,
        ("第 2 行 XFD 列有内容", "row 2, column XFD", "at most 64 columns"),
    ),
    "a row of 5,000,000 cells": (
        lambda folder: write_workbook(
            folder / "cells.xlsx",
            [row(1, HOUSEHOLD_HEADER), '<row r="2">', "<c/>" * 5_000_000, "</row>"],
        ),
        ("第 2 行超出 Excel 的 16,384 列", "row 2 beyond Excel's 16,384 columns"),
    ),
    "200,000 rows": (_rows(200_000), ("超过 100,000 行", "more than 100,000 rows")),
    "a row beyond Excel's last": (
        lambda folder: write_workbook(
            folder / "far.xlsx", [row(1, HOUSEHOLD_HEADER), row(2_000_000, GOOD)]
        ),
        ("第 2,000,000 行", "a row 2,000,000, beyond Excel's"),
    ),
    "a zip bomb: shared strings unpacking to 2 GB": (
        _zip_bomb,
        ("xl/sharedStrings.xml 解压后有 2,048 MB", "unpacks to 2,048 MB", "over the 128 MB limit"),
    ),
    "entities expanding a billion times": (
        _billion_laughs,
        ("文档类型声明", "a document type declaration"),
    ),
    "a cell of 40,000 characters": (
        lambda folder: write_workbook(
            folder / "long.xlsx", [row(1, HOUSEHOLD_HEADER), row(2, ["QL-1", "前" * 40_000])]
        ),
        ("第 2 行 B 列有 40,000 个字符", "a cell holds at most 32,767"),
    ),
    "a formula saved without its result": (
        lambda folder: write_workbook(
            folder / "formula.xlsx",
            [row(1, HOUSEHOLD_HEADER), row(2, GOOD[:5], cell(2, 6, None, formula="2+2"))],
        ),
        ("第 2 行 F 列是公式", "a formula at row 2, column F saved without its result"),
    ),
    "a password-protected workbook": (_password, ("设有密码", "password-protected")),
    "a damaged part": (_damaged, ("无法作为 Excel 工作簿读取", "as an Excel workbook")),
    "a zip that is no workbook": (_not_a_workbook, ("无法作为 Excel 工作簿读取", "cannot read")),
    "a text file named .xlsx": (
        _bytes("text.xlsx", "户编号,镇\n".encode()),
        ("无法作为 Excel 工作簿读取", "as an Excel workbook"),
    ),
    "a .csv of 100 MB in one line": (
        _csv_line(35_000_000),  # three bytes a character in UTF-8
        ("超过导入文件 50 MB 的上限", "over the 50 MB limit"),
    ),
    "a .csv with a line of 1 MB": (
        _csv_line(1_000_000),
        ("第 2 行超过 131,072 个字符", "line 2 of line_1000000.csv is longer than 131,072"),
    ),
    "a .csv of 200,000 rows": (
        lambda folder: write_sheet(
            folder / "rows.csv", [HOUSEHOLD_HEADER, *((f"QL-{n}",) for n in range(200_001))]
        ),
        ("超过 100,000 行", "more than 100,000 rows"),
    ),
    "a .csv with a value in column 65": (
        lambda folder: write_sheet(
            folder / "wide.csv", [HOUSEHOLD_HEADER, (*GOOD, *[""] * 58, "x")]
        ),
        ("第 2 行超过 64 列", "goes beyond 64 columns"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_hostile_file_is_refused_in_bounded_memory_naming_the_problem_and_the_limit(
    sqlite_county_url: tuple[str, str], tmp_path: Path, case: str
) -> None:
    write, reasons = REFUSED[case]
    path = write(tmp_path)
    url, _ = sqlite_county_url
    before = database_counts(url)

    done = run_minqing(url, tmp_path / "instance", "import", "households", str(path), memory=MEMORY)

    assert done.returncode == 1
    assert "MemoryError" not in done.stderr
    for reason in reasons:
        assert reason in done.stderr
    assert " / " in done.stderr  # in Chinese, then English
    assert database_counts(url) == before


def test_the_limits_are_the_ones_the_messages_name() -> None:
    assert spreadsheets.MAX_ROWS == 100_000 and spreadsheets.MAX_COLUMNS == 64
    assert spreadsheets.MAX_FILE_BYTES == 50 * 1024 * 1024
    assert spreadsheets.MAX_PART_BYTES == 128 * 1024 * 1024


# Legitimate files that odd writers make: read as Excel shows them.
ACCEPTED: dict[str, Callable[[Path, str], Path]] = {
    "a sheet claiming 16,384 columns by 1,048,576 rows": lambda folder, phone: write_workbook(
        folder / "claims.xlsx",
        [row(1, HOUSEHOLD_HEADER), row(2, (*GOOD, "", "", "", "", "", phone))],
        dimension="A1:XFD1048576",
    ),
    "a formula saved with its result": lambda folder, phone: write_workbook(
        folder / "formula.xlsx",
        [
            row(1, HOUSEHOLD_HEADER),
            row(2, (*GOOD[:5], "", "", "", "", "", "", phone), cell(2, 6, 4, formula="2+2")),
        ],
    ),
    "styled empty cells far to the right": lambda folder, phone: write_workbook(
        folder / "styled.xlsx",
        [
            row(1, HOUSEHOLD_HEADER, '<c r="XFD1" s="1"/>'),
            row(2, (*GOOD, "", "", "", "", "", phone), '<c r="XFD2" s="1"/>'),
        ],
    ),
}


@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_an_odd_but_legitimate_workbook_is_read_as_excel_shows_it(
    county_url: tuple[str, str], tmp_path: Path, case: str
) -> None:
    url, phone = county_url
    path = ACCEPTED[case](tmp_path, phone)

    done = run_minqing(url, tmp_path / "instance", "import", "households", str(path), memory=MEMORY)

    assert done.returncode == 0, done.stderr
    assert "新建 1" in done.stdout and "created 1" in done.stdout


def test_a_workbook_written_by_openpyxl_with_a_formula_has_no_result_and_says_so(
    sqlite_county_url: tuple[str, str], tmp_path: Path
) -> None:
    """openpyxl (like other libraries) saves formulas without computing them."""
    url, phone = sqlite_county_url
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HOUSEHOLD_HEADER)
    sheet.append([*GOOD[:5], "=2+2", "", "", "", "", "", phone])
    workbook.save(tmp_path / "computed.xlsx")

    done = run_minqing(
        url, tmp_path / "instance", "import", "households", str(tmp_path / "computed.xlsx")
    )

    assert done.returncode == 1
    assert "用 Excel 打开并保存后再导入" in done.stderr
