"""``minqing accounts``: create, disable and unlock accounts; revoke a lost phone."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts import services
from server.accounts.models import Account, Device
from server.audit.services import SYSTEM
from server.issues.models import Department
from server.ledger.models import Cadre, Town
from shared.vocab import AccountRole


@click.group("accounts")
def accounts_group() -> None:
    """Manage accounts and their devices."""


@accounts_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(AccountRole.codes()),
    required=True,
    help="county_admin, town_admin (needs --town), village_leader or cadre "
    "(need --cadre-phone), inspector, department (needs --department).",
)
@click.option("--town", "town_name", help="The town of a town admin (e.g. 前楼镇).")
@click.option("--cadre-phone", help="The phone number of the cadre this account belongs to.")
@click.option(
    "--department",
    "department_name",
    help="The department of a department account, as the county's list names it (e.g. 县城管局).",
)
@click.option("--name", "display_name", default="", help="Name shown in the console.")
@click.password_option(help="Asked for if not given.")
def create(
    username: str,
    role: str,
    town_name: str | None,
    cadre_phone: str | None,
    department_name: str | None,
    display_name: str,
    password: str,
) -> None:
    """Create an account."""
    from server.commands import cli_session
    from shared.schemas import AccountSchema, ValidationError

    with cli_session() as session:
        town = _town(session, town_name) if town_name else None
        cadre = _cadre(session, cadre_phone) if cadre_phone else None
        department = _department(session, department_name) if department_name else None
        try:
            AccountSchema().load(
                {
                    "username": username,
                    "password": password,
                    "role": role,
                    "display_name": display_name,
                    "town_id": str(town.id) if town else None,
                    "cadre_id": str(cadre.id) if cadre else None,
                }
            )
            account = services.create_account(
                session,
                SYSTEM,
                username=username,
                password=password,
                role=AccountRole(role),
                display_name=display_name,
                town=town,
                cadre=cadre,
                department=department,
            )
        except ValidationError as invalid:
            raise click.UsageError(_explain(invalid.messages)) from None
        except services.AccountError as refused:
            raise click.UsageError(str(refused)) from None
    click.echo(f"已创建账号 / account created: {account.username} ({AccountRole(role).zh})")


@accounts_group.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account and revoke all its phones."""
    _change(username, lambda session, account: services.set_active(session, SYSTEM, account, False))
    click.echo(f"已停用 / disabled: {username}")


@accounts_group.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled account (its old phones stay revoked)."""
    _change(username, lambda session, account: services.set_active(session, SYSTEM, account, True))
    click.echo(f"已启用 / enabled: {username}")


@accounts_group.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Lift the lock after too many wrong passwords."""
    _change(username, lambda session, account: services.unlock(session, SYSTEM, account))
    click.echo(f"已解锁 / unlocked: {username}")


def _change(username: str, change: Callable[[Session, Account], None]) -> None:
    """Make one change to the named account, in one transaction."""
    from server.commands import cli_session

    with cli_session() as session:
        change(session, _account(session, username))


@accounts_group.command("devices")
@click.argument("username")
def devices(username: str) -> None:
    """List an account's phones."""
    from server.commands import cli_session

    with cli_session() as session:
        account = _account(session, username)
        rows = session.scalars(
            select(Device).where(Device.account_id == account.id).order_by(Device.created_at)
        ).all()
        for device in rows:
            if device.wiped_at:
                state = f"lost, wipe confirmed {device.wiped_at:%Y-%m-%d %H:%M}"
            elif device.lost_at:
                state = f"lost {device.lost_at:%Y-%m-%d}, wipe not yet confirmed"
            elif device.revoked_at:
                state = f"revoked {device.revoked_at:%Y-%m-%d}"
            else:
                state = "active"
            seen = f"{device.last_seen_at:%Y-%m-%d %H:%M}" if device.last_seen_at else "never"
            click.echo(f"{device.id}  {device.name or '-':20}  last seen {seen}  {state}")


@accounts_group.command("revoke-device")
@click.argument("device_id")
def revoke_device(device_id: str) -> None:
    """Revoke a (lost) phone: its token stops working at once."""
    from server.commands import cli_session

    try:
        key = uuid.UUID(device_id)
    except ValueError:
        raise click.UsageError(f"“{device_id}”不是设备编号 / not a device id") from None
    with cli_session() as session:
        device = session.get(Device, key)
        if device is None:
            raise click.UsageError(f"没有设备 {device_id} / no device {device_id}")
        services.revoke_device(session, SYSTEM, device)
    click.echo(f"已撤销 / revoked: {device_id}")


def _account(session: Session, username: str) -> Account:
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise click.UsageError(f"没有账号“{username}” / no account '{username}'")
    return account


def _town(session: Session, name: str) -> Town:
    return _named(session, Town, name, f"没有“{name}” / no town '{name}'")


def _department(session: Session, name: str) -> Department:
    return _named(
        session, Department, name, f"部门列表中没有“{name}” / no department '{name}' in the list"
    )


# The kinds of row an option names.
Named = TypeVar("Named", Town, Department)


def _named(session: Session, kind: type[Named], name: str, missing: str) -> Named:
    """The row of ``kind`` called ``name``; if there is none, a usage error
    saying ``missing`` and listing the names there are."""
    found = session.scalar(select(kind).where(kind.name == name))
    if found is None:
        known = "、".join(session.scalars(select(kind.name).order_by(kind.name)))
        raise click.UsageError(f"{missing}. 已有 / known: {known or '-'}")
    return found


def _cadre(session: Session, phone: str) -> Cadre:
    cadre = session.scalar(select(Cadre).where(Cadre.phone == phone))
    if cadre is None:
        raise click.UsageError(f"没有电话为 {phone} 的干部 / no cadre with phone {phone}")
    return cadre


def _explain(messages: dict[str, list[str]] | list[str]) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{field}: {' '.join(map(str, errs))}" for field, errs in messages.items())
    return " ".join(messages)
