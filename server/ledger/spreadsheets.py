"""Reading a spreadsheet file's rows within bounds, whatever the file claims.

A county office's file may be broken, or built to hurt: a sheet claiming a
million rows by 16,384 columns, a cell in the last column of every row, a
shared-strings part that unpacks to gigabytes, a line of 100 MB. Each is
refused with a message naming the problem and the limit, before it can fill
the memory: the file's size and the sizes its zip parts declare are checked
before anything is unpacked (``zipfile`` never reads past a declared size),
every worksheet is scanned as a stream (expat, no tree) for what openpyxl
would otherwise build in memory, and only then does openpyxl read the
chosen sheet, row by row and no wider than its header.
"""

from __future__ import annotations

import codecs
import csv
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

# Data rows a sheet may hold: three times Dongshan's 33,410 households.
MAX_ROWS = 100_000
# Columns a sheet may use; the widest layout has 13.
MAX_COLUMNS = 64
# Excel's own limit for one cell.
MAX_CELL_CHARS = 32_767
# A .csv line, or a .csv or .xlsx file; a whole county is about 5 MB as .csv
# and 2.3 MB as .xlsx.
MAX_LINE_CHARS = 131_072
MAX_FILE_BYTES = 50 * 1024 * 1024
# What the parts of an .xlsx may unpack to (a county's 农户 sheet: 23 MB), and
# the distinct texts its shared-strings part may hold.
MAX_PART_BYTES = 128 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000

# What Excel itself can address; a file beyond it is not a workbook.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384

# The start of an OLE2 compound file: an .xls, or an .xlsx saved with a password.
COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CELL_COLUMN = re.compile(r"[A-Z]+")
# What a damaged zip or part raises on the way (a bad checksum, deflate data
# that is not, a compression method Python lacks, a value openpyxl cannot take).
BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    EOFError,
    KeyError,
    ValueError,
    OSError,
)


class ImportRefused(Exception):
    """The file cannot be imported at all; the message is bilingual."""


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def check_file_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(
            f"{path.name} 有 {_mb(size)}，超过导入文件 {_mb(MAX_FILE_BYTES)} 的上限；请按镇或村分成几个文件"
            f" / {path.name} is {_mb(size)}, over the {_mb(MAX_FILE_BYTES)} limit for an import;"
            " split it by town or village"
        )


# --- .xlsx --------------------------------------------------------------------------


def read_xlsx(
    path: Path, choose: Callable[[Sequence[Any], Callable[[Any], tuple[Any, ...]]], Any]
) -> list[tuple[Any, ...]]:
    """The rows of the sheet ``choose`` picks from the workbook's worksheets.

    ``choose`` gets the worksheets and a function reading a sheet's first
    row. The rows returned are as wide as the header (at most ``MAX_COLUMNS``)
    and at most ``MAX_ROWS`` + 1 with the header.
    """
    check_file_size(path)
    # Every worksheet is scanned first: openpyxl parses each one whole when it
    # opens the workbook, to find its size if the sheet does not say it first.
    scans = _scan_workbook(path)

    def first_row(worksheet: Any) -> tuple[Any, ...]:
        return next(worksheet.iter_rows(max_row=1, max_col=MAX_COLUMNS, values_only=True), ())

    # openpyxl warns when it drops what it cannot read (data validation,
    # conditional formatting, a missing default style); only cell values
    # are imported, so those warnings are not the user's concern.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, *BROKEN) as error:
            raise _not_a_workbook(path, error) from None
        try:
            for worksheet in workbook.worksheets:
                # Some writers record a wrong (or a hostile) sheet size;
                # read what is really there.
                worksheet.reset_dimensions()
            worksheet = choose(workbook.worksheets, first_row)
            # openpyxl's read-only sheet knows its part; there is no public name for it.
            scans[worksheet._worksheet_path].refuse_import(path.name, worksheet.title)
            header = first_row(worksheet)
            width = max((n for n, v in enumerate(header, 1) if v not in (None, "")), default=1)
            rows = worksheet.iter_rows(min_row=2, max_col=width, values_only=True)
            return [header[:width], *rows]
        except BROKEN as error:
            raise _not_a_workbook(path, error) from None
        finally:
            workbook.close()


def _not_a_workbook(path: Path, error: Exception) -> ImportRefused:
    return ImportRefused(
        f"无法作为 Excel 工作簿读取：{path.name}（{error}）"
        f" / cannot read {path.name} as an Excel workbook ({error})"
    )


def _scan_workbook(path: Path) -> dict[str, _SheetScan]:
    """Check the zip's declared sizes, then stream every XML part once; each worksheet's scan."""
    with path.open("rb") as file:
        if file.read(len(COMPOUND_FILE)) == COMPOUND_FILE:
            raise ImportRefused(
                f"{path.name} 设有密码（或是旧版 .xls 文件），无法读取；请在 Excel 中取消密码并另存为 .xlsx"
                f" / {path.name} is password-protected (or an old .xls file): remove the password"
                " in Excel and save it as .xlsx"
            )
    try:
        archive = zipfile.ZipFile(path)
    except BROKEN as error:
        raise _not_a_workbook(path, error) from None
    with archive:
        parts = archive.infolist()
        for part in parts:
            if part.flag_bits & 0x1:
                raise ImportRefused(
                    f"{path.name} 中的 {part.filename} 已加密，无法读取；请去掉密码后再导入"
                    f" / {part.filename} in {path.name} is encrypted: remove the password and import again"
                )
            if part.file_size > MAX_PART_BYTES:
                raise _too_big(path, f"{part.filename} 解压后有 {_mb(part.file_size)}", f"{part.filename} unpacks to {_mb(part.file_size)}", MAX_PART_BYTES)  # fmt: skip
        total = sum(part.file_size for part in parts)
        if total > MAX_UNPACKED_BYTES:
            raise _too_big(path, f"解压后共有 {_mb(total)}", f"it unpacks to {_mb(total)}", MAX_UNPACKED_BYTES)  # fmt: skip
        scans = {}
        for part in parts:
            name = part.filename
            if not name.endswith((".xml", ".rels")):
                continue
            # Any part may be a worksheet (writers put them where they like);
            # only a worksheet has rows and cells.
            scan: _PartScan
            if name == "xl/sharedStrings.xml":
                scan = _StringsScan(path.name, name)
            else:
                scan = scans[name] = _SheetScan(path.name, name)
            _run(scan, archive, name, path)
        return scans


def _run(scan: _PartScan, archive: zipfile.ZipFile, part: str, path: Path) -> None:
    try:
        with archive.open(part) as stream:
            scan.run(stream)
    except BROKEN as error:
        raise _not_a_workbook(path, error) from None


def _too_big(path: Path, zh: str, en: str, limit: int) -> ImportRefused:
    return ImportRefused(
        f"{path.name} {zh}，超过 {_mb(limit)} 的上限（可能是压缩炸弹或损坏的文件）"
        f" / {path.name}: {en}, over the {_mb(limit)} limit (a zip bomb or a broken file?)"
    )


class _Stop(Exception):
    """Nothing more of this part needs reading."""


class _PartScan:
    """Streams one XML part: a document type declaration (entities) is refused."""

    def __init__(self, source: str, part: str) -> None:
        self.source = source
        self.part = part

    def run(self, stream: IO[bytes]) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._doctype
        parser.StartElementHandler = lambda name, attributes: self.start(_local(name), attributes)
        parser.EndElementHandler = lambda name: self.end(_local(name))
        parser.CharacterDataHandler = self.text
        try:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Stop:
            pass
        except expat.ExpatError as error:
            raise self.refused(f"XML 有误（{error}）", f"broken XML ({error})") from None

    def refused(self, zh: str, en: str) -> ImportRefused:
        return ImportRefused(
            f"无法作为 Excel 工作簿读取：{self.source} 的 {self.part} {zh}"
            f" / cannot read {self.source} as an Excel workbook: {self.part} has {en}"
        )

    def _doctype(self, *_: object) -> None:
        raise self.refused("含有文档类型声明", "a document type declaration")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class _StringsScan(_PartScan):
    """The shared strings: how many distinct texts the workbook keeps in memory."""

    count = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "si":
            self.count += 1
            if self.count > MAX_SHARED_STRINGS:
                raise ImportRefused(
                    f"{self.source} 含有超过 {MAX_SHARED_STRINGS:,} 个不同的文字，超过上限；请按镇或村分成几个文件"
                    f" / {self.source} holds more than {MAX_SHARED_STRINGS:,} distinct texts, over the limit;"
                    " split it by town or village"
                )


@dataclass
class _Place:
    row: int
    column: int

    def zh(self) -> str:
        return f"第 {self.row} 行 {get_column_letter(self.column)} 列"

    def en(self) -> str:
        return f"row {self.row}, column {get_column_letter(self.column)}"


class _SheetScan(_PartScan):
    """A worksheet as a stream: what Excel could never have written is refused at once;
    what only an import cannot take is noted, and refused if this is the sheet imported."""

    def __init__(self, source: str, part: str) -> None:
        super().__init__(source, part)
        self.rows = 0
        self.row = 0
        self.column = 0
        self.cells = 0
        self.in_value = False
        self.has_value = False
        self.has_formula = False
        # The first value beyond MAX_COLUMNS, the first formula saved without
        # its result, and whether rows go on past MAX_ROWS.
        self.wide: _Place | None = None
        self.uncomputed: _Place | None = None
        self.long = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "row":
            self.rows += 1
            self.row = _number(attributes.get("r")) or self.row + 1
            self.column = self.cells = 0
            if self.row > EXCEL_ROWS:
                raise self.refused(f"第 {self.row:,} 行，超出 Excel 的范围", f"a row {self.row:,}, beyond Excel's")  # fmt: skip
            if self.rows > MAX_ROWS + 1 or self.row > MAX_ROWS + 1:
                self.long = True
                raise _Stop
        elif name == "c":
            self.cells += 1
            reference = CELL_COLUMN.match(attributes.get("r", ""))
            self.column = _column(reference.group()) if reference else self.column + 1
            if self.cells > EXCEL_COLUMNS or self.column > EXCEL_COLUMNS:
                raise self.refused(f"第 {self.row:,} 行超出 Excel 的 {EXCEL_COLUMNS:,} 列", f"row {self.row:,} beyond Excel's {EXCEL_COLUMNS:,} columns")  # fmt: skip
            self.has_value = self.has_formula = False
        elif name == "f":
            self.has_formula = True
        elif name in ("v", "t"):
            self.in_value = True

    def text(self, data: str) -> None:
        if self.in_value and data.strip():
            self.has_value = True

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self.in_value = False
        elif name == "c":
            if self.has_value and self.column > MAX_COLUMNS and self.wide is None:
                self.wide = _Place(self.row, self.column)
            if self.has_formula and not self.has_value and self.uncomputed is None:
                self.uncomputed = _Place(self.row, self.column)

    def refuse_import(self, source: str, sheet: str) -> None:
        """Refuse this sheet for an import if it is longer, wider or less computed than one can be."""
        if self.long:
            raise ImportRefused(
                f"{source} 的“{sheet}”工作表超过 {MAX_ROWS:,} 行，超过导入的上限；请按镇或村分成几个文件"
                f" / the sheet '{sheet}' of {source} has more than {MAX_ROWS:,} rows,"
                " over the limit for an import; split it by town or village"
            )
        if self.wide is not None:
            last = get_column_letter(MAX_COLUMNS)
            raise ImportRefused(
                f"{source} 的“{sheet}”工作表{self.wide.zh()}有内容，导入最多读取 {MAX_COLUMNS} 列（A–{last}）；请删去多余的内容"
                f" / the sheet '{sheet}' of {source} has a value at {self.wide.en()};"
                f" an import reads at most {MAX_COLUMNS} columns (A–{last}): delete what is beyond"
            )
        if self.uncomputed is not None:
            raise ImportRefused(
                f"{source} 的“{sheet}”工作表{self.uncomputed.zh()}是公式，文件中没有它的计算结果；请用 Excel 打开并保存后再导入"
                f" / the sheet '{sheet}' of {source} has a formula at {self.uncomputed.en()} saved"
                " without its result: open and save the file in Excel, then import again"
            )


def _local(name: str) -> str:
    """An element's name within SpreadsheetML; any other vocabulary's is left as it is."""
    namespace, _, local = name.rpartition(" ")
    return local if namespace == MAIN else name


def _number(text: str | None) -> int:
    try:
        return int(float(text)) if text else 0
    except ValueError:
        return 0


def _column(letters: str) -> int:
    number = 0
    for letter in letters[:4]:  # beyond XFD anyway
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


# --- .csv --------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a .csv file in UTF-8 or GB18030, refused past the limits as read."""
    check_file_size(path)
    encoding = _csv_encoding(path)
    rows: list[list[str]] = []
    try:
        with path.open(encoding=encoding, newline="") as text:
            reader = csv.reader(_lines(text, path.name))
            for row in reader:
                if len(rows) > MAX_ROWS:
                    raise ImportRefused(
                        f"{path.name} 超过 {MAX_ROWS:,} 行，超过导入的上限；请按镇或村分成几个文件"
                        f" / {path.name} has more than {MAX_ROWS:,} rows, over the limit for an"
                        " import; split it by town or village"
                    )
                if any(cell.strip() for cell in row[MAX_COLUMNS:]):
                    raise ImportRefused(
                        f"{path.name} 第 {reader.line_num} 行超过 {MAX_COLUMNS} 列，导入最多读取 {MAX_COLUMNS} 列"
                        f" / line {reader.line_num} of {path.name} goes beyond {MAX_COLUMNS} columns;"
                        f" an import reads at most {MAX_COLUMNS}"
                    )
                rows.append(row[:MAX_COLUMNS])
    except csv.Error as error:
        raise ImportRefused(
            f"{path.name} 不是有效的 CSV 文件（第 {reader.line_num} 行：{error}）"
            f" / {path.name} is not a valid CSV file (line {reader.line_num}: {error})"
        ) from None
    except OSError as error:
        raise ImportRefused(
            f"无法读取文件 {path.name}（{error.strerror}） / cannot read {path.name} ({error.strerror})"
        ) from None
    return rows


def _csv_encoding(path: Path) -> str:
    # Excel on a Chinese Windows saves "CSV" as GB18030 (GBK); "CSV UTF-8"
    # starts with a byte-order mark. Checked a chunk at a time.
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as file:
                for chunk in iter(lambda: file.read(1 << 20), b""):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
        except OSError as error:
            raise ImportRefused(
                f"无法读取文件 {path.name}（{error.strerror}） / cannot read {path.name} ({error.strerror})"
            ) from None
    raise ImportRefused(
        f"{path.name} 既不是 UTF-8 也不是 GB18030 编码的 CSV"
        f" / {path.name} is not a CSV file in UTF-8 or GB18030"
    )


def _lines(text: IO[str], source: str) -> Iterator[str]:
    """The file's lines, none read longer than ``MAX_LINE_CHARS``."""
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ImportRefused(
                f"{source} 第 {number} 行超过 {MAX_LINE_CHARS:,} 个字符，不像一张表；请检查文件"
                f" / line {number} of {source} is longer than {MAX_LINE_CHARS:,} characters,"
                " which no sheet has: check the file"
            )
        yield line
