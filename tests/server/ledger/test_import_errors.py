"""Bad spreadsheets: every bad row is reported by row, column and reason, and
nothing at all is imported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from server.ledger.layouts import HOUSEHOLDS, VILLAGES, read_table
from server.ledger.spreadsheets import ImportRefused
from tests.server.ledger.fixtures import HOUSEHOLD_HEADER, counts, load, small_county, write_sheet


def household(code: str = "QL-1", **cells: str) -> tuple[str, ...]:
    """A good households row, with some cells changed."""
    row = dict(
        zip(HOUSEHOLD_HEADER, (code, "前楼镇", "前楼村", "第1网格", "林春武", "4"), strict=False)
    )
    return tuple({**row, **cells}.get(column, "") for column in HOUSEHOLD_HEADER)


LINKS = ("户编号", "挂户干部", "挂户干部电话")
CADRES = ("姓名", "单位", "单位类别", "所属镇", "职级", "电话")
LEADERS = ("镇", "村", "县挂钩领导", "县挂钩领导电话", "镇挂点领导电话", "县直单位挂村领导电话")

# kind, rows after the header (phones of the small county as {teacher} …),
# and the expected (row, column, part of the reason) of every error.
CASES = {
    "unknown town, village and grid": (
        "households",
        HOUSEHOLD_HEADER,
        [household("A", 镇="西门镇"), household("B", 村="后马村"), household("C", 网格="第9网格")],
        [
            (2, "镇", "没有名为“西门镇”的镇"),
            (3, "村", "前楼镇没有名为“后马村”的村"),
            (4, "网格", "前楼村没有名为“第9网格”的网格"),
        ],
    ),
    "unknown cadre phone": (
        "households",
        HOUSEHOLD_HEADER,
        [household(挂户干部电话="13700000000")],
        [(2, "挂户干部电话", "没有电话为 13700000000 的干部")],
    ),
    "a phone number that is not one": (
        "households",
        HOUSEHOLD_HEADER,
        [household(电话="13912345678、12345"), household("B", 挂户干部电话="1390000")],
        [
            (2, "电话", "“12345”不是有效的电话号码"),
            (3, "挂户干部电话", "“1390000”不是有效的电话号码"),
        ],
    ),
    "a household code twice in the file": (
        "households",
        HOUSEHOLD_HEADER,
        [household("QL-7"), household("QL-8"), household("QL-7", 户主="林光荣")],
        [(2, "户编号", "第 2、4 行"), (4, "户编号", "第 2、4 行")],
    ),
    "a household code already in the ledger": (
        "households",
        HOUSEHOLD_HEADER,
        [household("{existing}")],
        [(2, "户编号", "已在台帐中")],
    ),
    "empty required cells": (
        "households",
        HOUSEHOLD_HEADER,
        [household(户主="", 人口=""), household("", 网格="")],
        [
            (2, "户主", "必填项"),
            (2, "人口", "必填项"),
            (3, "户编号", "必填项"),
            (3, "网格", "必填项"),
        ],
    ),
    "members that are not a whole number": (
        "households",
        HOUSEHOLD_HEADER,
        [household("A", 人口="4.5"), household("B", 人口="四"), household("C", 人口="0")],
        [(2, "人口", "应为整数"), (3, "人口", "应为整数"), (4, "人口", "家庭人口应为 1–50")],
    ),
    "an unknown tag": (
        "households",
        HOUSEHOLD_HEADER,
        [household(标签="贫困户、富裕户")],
        [(2, "标签", "未知标签“富裕户”")],
    ),
    "a cadre name that does not match the phone": (
        "households",
        HOUSEHOLD_HEADER,
        [household(挂户干部="李四", 挂户干部电话="{teacher}")],
        [(2, "挂户干部", "登记的干部是陈志明，不是李四")],
    ),
    "a household linked to a disabled cadre": (
        "households",
        HOUSEHOLD_HEADER,
        [household(挂户干部电话="{retired}")],
        [(2, "挂户干部电话", "已停用")],
    ),
    "a link to a disabled cadre": (
        "links",
        LINKS,
        [("{existing}", "", "{retired}")],
        [(2, "挂户干部电话", "已停用")],
    ),
    "a household linked to two cadres in the same file": (
        "links",
        LINKS,
        [("{existing}", "", "{teacher}"), ("{existing}", "", "{clerk}")],
        [(2, "户编号", "不能同时挂给几名干部"), (3, "户编号", "不能同时挂给几名干部")],
    ),
    "a link to an unknown household, or to a cadre named without a phone": (
        "links",
        LINKS,
        [("QL-404", "", "{teacher}"), ("{existing}", "陈志明", "")],
        [(2, "户编号", "台帐中没有户编号 QL-404"), (3, "挂户干部电话", "只写姓名无法确定干部")],
    ),
    "cadres with a bad phone, rank, unit kind or town": (
        "cadres",
        CADRES,
        [
            ("张明", "县旅游局", "县直单位", "", "县直干部", "1390000"),
            ("李华", "县旅游局", "县直单位", "", "科长", "13700000002"),
            ("王五", "康美镇政府", "镇机关", "", "镇干部", "13700000003"),
            ("赵六", "县教育局", "县直单位", "前楼镇", "县直干部", "13700000004"),
            ("钱七", "县教育局", "镇机关", "前楼镇", "镇干部", "13700000005"),
            ("孙八", "县体育局", "局", "", "镇干部", "13700000006"),
            ("", "县体育局", "县直单位", "", "镇干部", "13700000007"),
        ],
        [
            (2, "电话", "不是有效的电话号码"),
            (3, "职级", "应为 处级干部、县直干部、镇干部 之一"),
            (4, "所属镇", "镇机关须填所属镇"),
            (5, "所属镇", "所属镇应留空"),
            (6, "单位类别", "单位“县教育局”已是县直单位"),
            (7, "单位类别", "应为 县直单位、镇机关 之一"),
            (8, "姓名", "必填项"),
        ],
    ),
    "a phone twice in a cadres file": (
        "cadres",
        CADRES,
        [
            ("张明", "县旅游局", "县直单位", "", "县直干部", "13700000001"),
            ("李华", "县旅游局", "县直单位", "", "县直干部", "13700000001"),
        ],
        [(2, "电话", "第 2、3 行"), (3, "电话", "第 2、3 行")],
    ),
    "leaders of an unknown village, or named without a phone": (
        "leaders",
        LEADERS,
        [
            ("前楼镇", "东沈村", "", "{leader}", "", ""),
            ("西门镇", "西门村", "", "{leader}", "", ""),
            ("前楼镇", "前楼村", "林处长", "", "{clerk}", "{retired}"),
        ],
        [
            (2, "村", "前楼镇没有名为“东沈村”的村"),
            (3, "镇", "没有名为“西门镇”的镇"),
            (4, "县挂钩领导电话", "只写姓名无法确定干部"),
            (4, "县直单位挂村领导电话", "已停用"),
        ],
    ),
    "a grid without its village, or a name too long": (
        "villages",
        ("镇", "村", "网格"),
        [("前楼镇", "", "第1网格"), ("前楼镇", "村" * 65, "")],
        [(2, "村", "写了网格须写明所属的村"), (3, "村", "长度应为 1–64 个字")],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_row_is_reported_by_row_column_and_reason_and_nothing_is_imported(
    session: Session, tmp_path: Path, case: str
) -> None:
    kind, header, rows, expected = CASES[case]
    county = small_county(session)
    existing = county.ledger.household(county.qianlou_1)
    other = county.ledger.household(county.qianlou_2)
    values = {**county.phones, "existing": existing.code}
    # A good row too: it must not be imported either.
    good = {
        "households": household("QL-GOOD"),
        "links": (other.code, "", county.teacher.phone),
        "cadres": ("周好", "县旅游局", "县直单位", "", "县直干部", "13700000099"),
        "leaders": ("康美镇", "康美村", "", county.leader.phone, "", ""),
        "villages": ("西埔镇", "西埔村", "第1网格"),
    }[kind]
    filled = [tuple(str(cell).format(**values) for cell in row) for row in rows]
    path = write_sheet(tmp_path / f"{kind}.xlsx", [header, *filled, good])
    before = counts(session)

    report = load(session, kind, path)

    assert not report.imported
    assert report.skipped == report.read == len(rows) + 1
    assert [(e.row, e.column) for e in report.errors] == [(r, c) for r, c, _ in expected]
    for error, (_, _, reason) in zip(report.errors, expected, strict=True):
        assert reason in error.message
        assert " / " in error.message  # and in English
    assert counts(session) == before


def test_an_error_names_the_column_as_the_file_heads_it(session: Session, tmp_path: Path) -> None:
    small_county(session)
    path = write_sheet(
        tmp_path / "households.csv",
        [
            ("code", "town", "village", "grid", "head", "members"),
            ("QL-1", "前楼镇", "前楼村", "第1网格", "林春武", "many"),
        ],
    )
    report = load(session, "households", path)
    assert [(e.row, e.column) for e in report.errors] == [(2, "members")]
    assert str(report.errors[0]).startswith("第 2 行 / row 2 [members]: 应为整数")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("households.txt", b"code\n", "只能导入 .xlsx 或 .csv"),
        ("households.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
        ("households.xlsx", b"not a zip file", "无法作为 Excel 工作簿读取"),
        ("households.csv", b"", "第 1 行应为表头"),
        ("households.csv", b"\xff\xfe\xff\xfe", "既不是 UTF-8 也不是 GB18030"),
        ("households.csv", "户编号,镇,村,网格\n".encode(), "缺少必需的列：户主 (head of household)、人口 (members)"),
        ("households.csv", "户编号,code,镇\n".encode(), "“户编号”和“code”是同一列"),
    ],
    ids=["not a spreadsheet", "old xls", "broken xlsx", "empty", "binary", "missing columns", "a column twice"],
)  # fmt: skip
def test_a_file_that_cannot_be_read_as_the_layout_is_refused_with_the_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportRefused, match=re.escape(reason)):
        read_table(path, HOUSEHOLDS)


@pytest.mark.parametrize("name", ["missing.csv", "missing.xlsx", "."])
def test_a_missing_file_is_refused_with_the_reason(tmp_path: Path, name: str) -> None:
    with pytest.raises(ImportRefused, match="找不到文件"):
        read_table(tmp_path / name, VILLAGES)
