"""``minqing demo``: fill an empty database with the demo county."""

from __future__ import annotations

import time
from datetime import date

import click

from server.demo.generator import DEMO_PASSWORD, DemoRefused, generate


class WholeNumber(click.ParamType):
    """An integer of at least ``minimum``, refused in both languages."""

    name = "integer"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        try:
            number = int(str(value))
        except ValueError:
            number = None
        if number is None or number < self.minimum:
            self.fail(
                f"“{value}”应为不小于 {self.minimum} 的整数"
                f" / '{value}' must be a whole number of at least {self.minimum}"
            )
        return number


class Day(click.ParamType):
    """A date written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"“{value}”不是日期，应如 2015-05-27 / '{value}' is not a date such as 2015-05-27"
            )


@click.command("demo")
@click.option(
    "--seed",
    type=WholeNumber(0),
    default=2015,
    show_default=True,
    help="The same seed gives the same county.",
)
@click.option(
    "--scale",
    type=WholeNumber(1),
    default=1,
    show_default=True,
    help="How many counties' worth: 1 is the report's Dongshan; 10 or 30 make a province-sized ledger for benchmarks.",
)
@click.option(
    "--as-of",
    "as_of",
    type=Day(),
    help="The demo's last day; visits cover the year before it.  [default: today]",
)
def demo(seed: int, scale: int, as_of: date | None) -> None:
    """Fill an empty database with the demo county (the 2015 report's Dongshan).

    7 towns, 61 villages, 33,410 households, 1,694 cadres, 31 leaders, a year of
    visits, issues and inspections, and accounts that all use the password
    minqing-demo. Run `minqing db init` first.
    """
    from server.commands import cli_session

    started = time.monotonic()
    with cli_session() as session:
        try:
            counts = generate(
                session,
                seed=seed,
                scale=scale,
                as_of=as_of or date.today(),
                progress=lambda line: click.echo(line, err=True),
            )
        except DemoRefused as refused:
            raise click.UsageError(str(refused)) from None
    click.echo(
        f"演示数据已生成 / demo ledger ready in {time.monotonic() - started:.0f} s: "
        f"{counts['town']} 个镇 towns, {counts['village']} 个村 villages, "
        f"{counts['household']:,} 户 households, {counts['cadre']:,} 名干部 cadres, "
        f"{counts['visit']:,} 次走访 visits, {counts['issue']:,} 个问题 issues, "
        f"{counts['inspection']:,} 次督查 inspections, {counts['account']:,} 个账号 accounts "
        f"(密码 / password: {DEMO_PASSWORD})"
    )
