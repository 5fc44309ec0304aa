"""Ledger commands: ``minqing check`` (and the spreadsheet import and export)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from server.audit.services import Actor
from server.ledger.exporting import ExportError, export_ledger, part_named
from server.ledger.importing import IMPORTERS, ImportReport
from server.ledger.layouts import (
    CADRES,
    DEPARTMENTS,
    HOUSEHOLDS,
    LEADERS,
    LINKS,
    VILLAGES,
    Layout,
    read_table,
)
from server.ledger.services import check_integrity
from server.ledger.spreadsheets import ImportRefused

BREACH_LABELS = {
    "households_without_cadre": "无挂户干部的农户 / households with no cadre",
    "cadres_without_households": "未挂户的干部 / cadres with no households",
    "cadres_over_limit": "挂户超过 30 户的干部 / cadres with more than 30 households",
    "dangling_links": "失效的挂钩（干部已停用或农户已注销）/ dangling links (disabled cadre or removed household)",
    "villages_missing_leaders": "缺少挂钩领导的村 / villages missing a link leader",
}


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.option("--limit", default=10, show_default=True, help="Examples listed per problem.")
def check(as_json: bool, limit: int) -> None:
    """Check the ledger: every household has one cadre, loads within 30, no dangling links."""
    from server.commands import cli_session

    with cli_session() as session:
        report = check_integrity(session)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for name, value in report.counts.items():
            click.echo(f"{name:>12}: {value:,}")
        for name, rows in report.breaches.items():
            click.echo(f"{BREACH_LABELS[name]}: {len(rows)}")
            for row in rows[:limit]:
                click.echo("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
    if not report.ok:
        raise SystemExit(1)


# --- import and export ----------------------------------------------------------

# Imports are recorded in the audit trail as done by the system, via an import.
IMPORT = Actor(via="import")


@click.group("import")
def import_group() -> None:
    """Import villages, cadres, households, links, village leaders or departments from .xlsx or .csv.

    The header is row 1; Chinese headers or their English aliases. Import in
    this order: villages, cadres, households, leaders (links to reassign).
    Nothing is imported if any row is bad, unless --skip-bad-rows is given.
    """


def _import_command(layout: Layout, summary: str) -> click.Command:
    columns = "\n".join(
        f"  {column.header} ({column.english}){'' if column.required else ' — optional'}"
        for column in layout.columns
    )

    @click.command(
        layout.kind,
        help=f"{summary}\n\n\b\nColumns (sheet {layout.sheet} in a workbook):\n{columns}",
    )
    @click.argument("path", metavar="FILE", type=click.Path(path_type=Path))
    @click.option("--sheet", help=f"The workbook's sheet to read (default: {layout.sheet}).")
    @click.option(
        "--skip-bad-rows", is_flag=True, help="Import the good rows; still report the bad ones."
    )
    def command(path: Path, sheet: str | None, skip_bad_rows: bool) -> None:
        from server.commands import cli_session

        try:
            table = read_table(path, layout, sheet)
            with cli_session() as session:
                report = IMPORTERS[layout.kind](session, IMPORT, table, skip_bad_rows=skip_bad_rows)
        except ImportRefused as refused:
            raise click.ClickException(str(refused)) from None
        _print_report(report)
        if not report.imported:
            raise SystemExit(1)

    return command


for _layout, _summary in (
    (VILLAGES, "Create towns, villages and grids (those already there are left as they are)."),
    (CADRES, "Create cadres and their work units; a known phone updates that cadre."),
    (
        HOUSEHOLDS,
        "Add households, linked to their cadre; a code already in the ledger is an error.",
    ),
    (LINKS, "Link households to cadres (a reassignment keeps the old link as history)."),
    (LEADERS, "Set villages' link leaders; an empty phone leaves that leader as it is."),
    (
        DEPARTMENTS,
        "Add the departments problems are passed to; a listed name has its kind and phone updated.",
    ),
):
    import_group.add_command(_import_command(_layout, _summary))


def _print_report(report: ImportReport) -> None:
    for error in report.errors:
        click.echo(str(error), err=True)
    if report.ignored_columns:
        ignored = "、".join(report.ignored_columns)
        click.echo(f"已忽略不认识的列 / ignored unknown columns: {ignored}", err=True)
    click.echo(
        f"{report.source}: 读取 {report.read} 行，新建 {report.created}，更新 {report.updated}，"
        f"未变 {report.unchanged}，跳过 {report.skipped}"
        f" / read {report.read} rows: created {report.created}, updated {report.updated},"
        f" unchanged {report.unchanged}, skipped {report.skipped}"
    )
    if not report.imported:
        bad = len({error.row for error in report.errors})
        click.echo(
            f"有 {bad} 行有误，未导入任何数据；改正后重新导入，或加 --skip-bad-rows 只导入正确的行"
            f" / {bad} rows have errors, so nothing was imported; fix them and import again,"
            " or use --skip-bad-rows to import only the good rows",
            err=True,
        )


@click.group("export")
def export_group() -> None:
    """Export the ledger to .xlsx."""


@export_group.command("ledger")
@click.argument("path", metavar="FILE.xlsx", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--county", help="Only this county (e.g. 东山县), or the county of --town.")
@click.option("--town", help="Only this town (e.g. 前楼镇); add --county if the name repeats.")
@click.option("--village", help="Only this village (e.g. 前楼村); add --town if the name repeats.")
def export_ledger_command(
    path: Path, county: str | None, town: str | None, village: str | None
) -> None:
    """Write the 包村包户台帐: sheets 村挂钩领导, 农户, 干部 and 村网格.

    Each sheet has the columns of its import, so the file imports again.
    """
    from server.commands import cli_session

    if path.suffix.lower() != ".xlsx":
        raise click.UsageError(
            f"导出文件应以 .xlsx 结尾：{path.name} / the export file must end in .xlsx: {path.name}"
        )
    try:
        with cli_session() as session:
            part = part_named(session, county=county, town=town, village=village)
            report = export_ledger(session, path, part)
    except ExportError as refused:
        raise click.ClickException(str(refused)) from None
    except OSError as error:
        raise click.ClickException(
            f"无法写入 {path}（{error.strerror}） / cannot write {path} ({error.strerror})"
        ) from None
    counts = "，".join(f"{sheet} {rows}" for sheet, rows in report.rows.items())
    click.echo(f"已导出 / exported {path}: {counts}")
