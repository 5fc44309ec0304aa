"""The county office's spreadsheets, as the ledger reads and writes them: each
kind's column layout (``LAYOUTS``, and the export-only sheets), and
``read_table``, which reads an .xlsx or .csv file in a layout.

The importer checks and writes the rows; the exporter writes sheets in the
same layouts, so an export imports again. The bounds every file is read
within are ``server.ledger.spreadsheets``'.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from server.ledger.spreadsheets import MAX_CELL_CHARS, ImportRefused, read_csv, read_xlsx
from shared.vocab import LeaderRole

# --- layouts ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a layout: its Chinese header, accepted aliases, and whether it must be there.

    ``required`` is about the column being in the file; whether a cell may be
    empty is each importer's rule.
    """

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    @property
    def english(self) -> str:
        """The column's English name: its first alias in plain ASCII."""
        return next((alias for alias in self.aliases if alias.isascii()), self.key)


@dataclass(frozen=True)
class Layout:
    kind: str
    # The sheet an .xlsx export names for this kind.
    sheet: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)

    @cached_property
    def names(self) -> dict[str, str]:
        """Every accepted header, normalized, to its column key."""
        return {
            normal(name): column.key
            for column in self.columns
            for name in (column.header, *column.aliases)
        }

    def missing(self, headers: Iterable[object]) -> list[Column]:
        present = {self.names.get(normal(_text(header))) for header in headers}
        return [c for c in self.columns if c.required and c.key not in present]


def _leader_columns(role: LeaderRole) -> tuple[Column, ...]:
    # The 台帐 shows each leader's name and unit beside the phone; only the
    # phone identifies the cadre, the name is checked against it.
    return (
        Column(f"{role.value}_name", role.zh, (f"{role.value} leader",), required=False),
        Column(
            f"{role.value}_unit", f"{role.zh}单位", (f"{role.value} leader unit",), required=False
        ),
        Column(f"{role.value}_phone", f"{role.zh}电话", (f"{role.value} leader phone",)),
    )


# Columns of several sheets, named once so that each sheet reads the same headers.
TOWN = Column("town", "镇", ("乡镇", "town"))
VILLAGE = Column("village", "村", ("行政村", "village"))
HOUSEHOLD_CODE = Column("code", "户编号", ("户号", "code", "household code"))
LINKED_CADRE_NAME = Column("cadre_name", "挂户干部", ("cadre", "cadre name"), required=False)
# A household sheet may leave its cadre out; a links sheet is its cadres.
LINKED_CADRE_PHONE = Column("cadre_phone", "挂户干部电话", ("干部电话", "cadre phone"))

VILLAGES = Layout(
    "villages",
    "村网格",
    (
        TOWN,
        VILLAGE,
        Column("grid", "网格", ("grid",), required=False),
    ),
)

CADRES = Layout(
    "cadres",
    "干部",
    (
        Column("name", "姓名", ("干部姓名", "name")),
        Column("unit", "单位", ("工作单位", "unit", "work unit")),
        Column("unit_kind", "单位类别", ("单位类型", "unit kind")),
        Column("unit_town", "所属镇", ("unit town",), required=False),
        Column("rank", "职级", ("rank",)),
        Column("phone", "电话", ("手机", "联系电话", "phone")),
        Column("active", "状态", ("status",), required=False),
    ),
)

DEPARTMENTS = Layout(
    "departments",
    "部门",
    (
        Column("name", "部门名称", ("部门", "单位", "name", "department")),
        Column("kind", "类别", ("部门类别", "kind"), required=False),
        Column("phone", "电话", ("联系电话", "phone"), required=False),
    ),
)

HOUSEHOLDS = Layout(
    "households",
    "农户",
    (
        HOUSEHOLD_CODE,
        TOWN,
        VILLAGE,
        Column("grid", "网格", ("grid",)),
        Column("head_name", "户主", ("户主姓名", "head of household", "head", "head name")),
        Column("members", "人口", ("家庭人口", "人数", "members")),
        Column("address", "地址", ("住址", "address"), required=False),
        Column("phones", "电话", ("联系电话", "phones", "phone"), required=False),
        Column("tags", "标签", ("tags",), required=False),
        Column("notes", "备注", ("notes",), required=False),
        LINKED_CADRE_NAME,
        Column("cadre_unit", "挂户干部单位", ("单位", "cadre unit"), required=False),
        replace(LINKED_CADRE_PHONE, required=False),
    ),
)

LINKS = Layout(
    "links",
    "挂户",
    (
        HOUSEHOLD_CODE,
        LINKED_CADRE_NAME,
        LINKED_CADRE_PHONE,
    ),
)

LEADERS = Layout(
    "leaders",
    "村挂钩领导",
    (
        TOWN,
        VILLAGE,
        *(column for role in LeaderRole for column in _leader_columns(role)),
    ),
)

LAYOUTS = {layout.kind: layout for layout in (VILLAGES, CADRES, HOUSEHOLDS, LINKS, LEADERS)}

# Export-only sheets: issues are recorded on phones, never imported.
ISSUES = Layout(
    "issues",
    "群众问题",
    tuple(
        Column(key, header)
        for key, header in (
            ("town", "镇"),
            ("village", "村"),
            ("code", "户编号"),
            ("head", "户主"),
            ("raised", "反映日期"),
            ("category", "类别"),
            ("description", "问题"),
            ("status", "状态"),
            ("department", "部门"),
            ("aid", "帮扶金额（元）"),
        )
    ),
)
AID_TOTALS = Layout(
    "aid_totals",
    "帮扶金额合计",
    tuple(
        Column(key, header)
        for key, header in (
            ("town", "镇"),
            ("village", "村"),
            ("aided", "有帮扶金额的问题"),
            ("aid", "帮扶金额（元）"),
        )
    ),
)


# --- reading files --------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the sheet, by the number Excel shows for it (the header is row 1)."""

    number: int
    cells: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.cells.get(key, "")


@dataclass
class Table:
    layout: Layout
    source: str
    # Column key -> the header as the file spells it, for error messages.
    headers: dict[str, str]
    rows: list[Row]
    ignored_columns: list[str] = field(default_factory=list)

    def header(self, key: str) -> str:
        if key in self.headers:
            return self.headers[key]
        return next((c.header for c in self.layout.columns if c.key == key), key)


def read_table(path: Path, layout: Layout, sheet: str | None = None) -> Table:
    """Read an .xlsx or .csv file in ``layout``: the header on row 1, one record a row.

    In a workbook the sheet is ``sheet`` if given, else the one named like the
    layout (so a whole exported ledger can be imported kind by kind), else the
    first whose header has the layout's required columns, else the first.
    """
    if not path.is_file():
        raise ImportRefused(f"找不到文件 {path} / no such file: {path}")
    suffix = path.suffix.lower()
    raw: Sequence[Sequence[Any]]
    if suffix in (".xlsx", ".xlsm"):
        raw = read_xlsx(
            path, lambda worksheets, first_row: _pick_sheet(worksheets, first_row, layout, sheet)
        )
    elif suffix == ".csv":
        raw = read_csv(path)
    elif suffix == ".xls":
        raise ImportRefused(
            f"不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx：{path.name}"
            f" / old .xls files are not supported; save {path.name} as .xlsx in Excel"
        )
    else:
        raise ImportRefused(
            f"只能导入 .xlsx 或 .csv 文件：{path.name} / only .xlsx and .csv files can be imported: {path.name}"
        )
    return _table(layout, path.name, raw)


def _pick_sheet(
    worksheets: Sequence[Any],
    first_row: Callable[[Any], tuple[Any, ...]],
    layout: Layout,
    wanted: str | None,
) -> Any:
    if not worksheets:
        raise ImportRefused("工作簿中没有工作表 / the workbook has no worksheet")
    by_title = {worksheet.title: worksheet for worksheet in worksheets}
    if wanted is not None and wanted not in by_title:
        raise ImportRefused(
            f"工作簿中没有“{wanted}”工作表，现有：{'、'.join(by_title)}"
            f" / the workbook has no sheet '{wanted}'; it has: {', '.join(by_title)}"
        )
    chosen = by_title.get(wanted or layout.sheet)
    if chosen is None:
        chosen = next(
            (worksheet for worksheet in worksheets if not layout.missing(first_row(worksheet))),
            worksheets[0],
        )
    return chosen


def _table(layout: Layout, source: str, raw: Sequence[Sequence[Any]]) -> Table:
    if not raw or not any(_text(cell) for cell in raw[0]):
        raise ImportRefused(
            f"{source} 的第 1 行应为表头，但它是空的 / row 1 of {source} must be the header, and it is empty"
        )
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for position, cell in enumerate(raw[0]):
        header = _text(cell)
        if not header:
            continue
        key = layout.names.get(normal(header))
        if key is None:
            ignored.append(header)
            continue
        if key in positions:
            raise ImportRefused(
                f"“{headers[key]}”和“{header}”是同一列，请删去一个"
                f" / '{headers[key]}' and '{header}' are the same column; remove one"
            )
        positions[key] = position
        headers[key] = header
    missing = layout.missing(raw[0])
    if missing:
        names = [f"{column.header} ({column.english})" for column in missing]
        raise ImportRefused(
            f"{source} 缺少必需的列：{'、'.join(names)}（表头应在第 1 行）"
            f" / {source} lacks the required columns: {', '.join(names)} (the header goes on row 1)"
        )
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        _check_lengths(source, number, values)
        cells = {
            key: _text(values[position]) if position < len(values) else ""
            for key, position in positions.items()
        }
        if any(cells.values()):
            rows.append(Row(number, cells))
    return Table(layout, source, headers, rows, ignored)


def _check_lengths(source: str, number: int, values: Sequence[Any]) -> None:
    for position, value in enumerate(values):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            column = get_column_letter(position + 1)
            raise ImportRefused(
                f"{source} 第 {number} 行 {column} 列有 {len(value):,} 个字符，一格最多 {MAX_CELL_CHARS:,} 个"
                f" / row {number}, column {column} of {source} holds {len(value):,} characters;"
                f" a cell holds at most {MAX_CELL_CHARS:,}"
            )


def _text(value: object) -> str:
    """A cell as trimmed text; whole numbers without ".0" (Excel stores phones as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def normal(name: str) -> str:
    """A header or a label as compared: spaces and underscores as one space, any case."""
    return re.sub(r"[\s_]+", " ", name.strip()).casefold()
