"""Ledger commands: ``minqing check`` (and the spreadsheet import and export)."""

from __future__ import annotations

import json

import click

from server.ledger.services import check_integrity

PROBLEM_LABELS = {
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
    from server.cli import cli_session

    with cli_session() as session:
        report = check_integrity(session)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for name, value in report.counts.items():
            click.echo(f"{name:>12}: {value:,}")
        for name, rows in report.problems.items():
            click.echo(f"{PROBLEM_LABELS[name]}: {len(rows)}")
            for row in rows[:limit]:
                click.echo("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
    if not report.ok:
        raise SystemExit(1)
