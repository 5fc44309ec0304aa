"""The console's long downloads, made by the job worker: the ledger (.xlsx) of the
county, a town or a village, the contact cards (PDF) of a town or a village,
the notebooks (a PDF per cadre, in a .zip) of a town's cadres, and the
inspection sheets (督查表, PDF) of a town or of an inspector's households, and
a village's photos (a .zip with an index.csv) for an inspection.

A job's ``target`` is the town's or village's id ("" for the county), with
PHOTOS for a town's notebooks printed with photos, or the inspector's account
id with when their list last changed ("id/stamp"); its scope was checked when
it was asked for, and is again when its file is taken.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from server.accounts.models import Account
from server.accounts.scope import scope_for
from server.clock import utcnow
from server.console.reports import CHINA
from server.console.reports.outputs import (
    Card,
    SheetVillage,
    cards,
    county_of,
    household_count,
    inspection_sheet,
    notebook,
    town_cadres,
)
from server.inspections.services import assigned_households
from server.jobs.models import Job
from server.jobs.queue import JobFailed
from server.jobs.worker import Handler, Made
from server.ledger.exporting import WHOLE, Part, export_ledger
from server.ledger.models import Household, Town, Village
from server.ledger.queries import first_county
from server.photos.queries import KIND_LABELS, village_photos_count
from server.photos.queries import village_photos as filed_photos
from shared.vocab import AccountRole

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"

# What each kind's page calls it, 中文 / English.
TITLES = {
    "county_ledger": ("全县包村包户台帐 (.xlsx)", "the county ledger (.xlsx)"),
    "town_ledger": ("本镇包村包户台帐 (.xlsx)", "the town ledger (.xlsx)"),
    "village_ledger": ("本村包村包户台帐 (.xlsx)", "the village ledger (.xlsx)"),
    "town_cards": ("本镇联系服务卡 (PDF)", "the town's contact cards (PDF)"),
    "village_cards": ("本村联系服务卡 (PDF)", "the village's contact cards (PDF)"),
    "town_notebooks": ("本镇民情记录本 (PDF, .zip)", "the town's notebooks (PDF, .zip)"),
    "town_inspection_sheet": ("本镇督查表 (PDF)", "the town's inspection sheet (PDF)"),
    "inspector_sheet": (
        "待督查农户督查表 (PDF)",
        "the inspection sheet of assigned households (PDF)",
    ),
    "village_photos": ("本村照片 (.zip)", "the village's photos (.zip)"),
}
GONE = (
    "要准备的镇或村已被删除，请回到台帐重新选择 / the town or village asked for"
    " no longer exists: go back to the ledger and choose again"
)
NO_INSPECTOR = (
    "这名督查员的账号已停用或删除，请回到督查页重新选择 / this inspector's account"
    " has been disabled or removed: go back to the inspections page and choose again"
)
NOTHING_ASSIGNED = (
    "{name}名下没有您辖区内待督查的农户：请先在督查页抽样并分派给其手机 / {name} has no"
    " households left to check in your area: draw a sample on the inspections page and"
    " assign it first"
)
NO_PHOTOS = (
    "本村还没有已上传的照片 / this village has no uploaded photos yet: they arrive"
    " after the cadres' phones sync"
)
PHOTO_INDEX = ("户编号", "户主", "记录", "日期", "干部", "文件")

# Ends the target of a town's notebooks printed with the photos' thumbnails.
PHOTOS = "/photos"

Progress = Callable[[float], None]


def _town(session: Session, job: Job) -> Town:
    town = session.get(Town, uuid.UUID(job.target.partition("/")[0]))
    if town is None:
        raise JobFailed(GONE)
    return town


def _village(session: Session, job: Job) -> Village:
    village = session.get(Village, uuid.UUID(job.target))
    if village is None:
        raise JobFailed(GONE)
    return village


def _ledger(session: Session, part: Part, name: str, progress: Progress, *where: object) -> Made:
    # The household sheet is nearly all the rows; the others end the job.
    total = max(household_count(session, *where), 1)
    with tempfile.TemporaryDirectory(prefix="minqing-export-") as folder:
        path = Path(folder) / "ledger.xlsx"
        export_ledger(session, path, part, lambda rows: progress(min(rows / total, 1.0) * 0.95))
        return Made(f"{name}包村包户台帐.xlsx", XLSX, path.read_bytes())


def county_ledger(session: Session, job: Job, progress: Progress) -> Made:
    county = first_county(session)
    return _ledger(session, WHOLE, county.name if county else "", progress)


def town_ledger(session: Session, job: Job, progress: Progress) -> Made:
    town = _town(session, job)
    return _ledger(session, Part(town_id=town.id), town.name, progress, Town.id == town.id)


def village_ledger(session: Session, job: Job, progress: Progress) -> Made:
    village = _village(session, job)
    name = f"{village.town.name}{village.name}"
    return _ledger(session, Part(village_id=village.id), name, progress, Village.id == village.id)


def _counted(every: Iterator[Card], total: int, progress: Progress) -> Iterator[Card]:
    for number, card in enumerate(every, start=1):
        yield card
        if number % 100 == 0:
            progress(number / total * 0.9)  # the rest is fpdf writing the file out


def _cards(
    session: Session, town_id: uuid.UUID, name: str, progress: Progress, where: object
) -> Made:
    # Imported when first asked for: fpdf's tables add ~20 MB to a process.
    from server.console import pdf

    county = county_of(session, town_id)
    total = max(household_count(session, where), 1)
    data = pdf.contact_cards(
        _counted(cards(session, where), total, progress), county.name, county.service_numbers
    )
    return Made(f"{name}联系服务卡.pdf", PDF, data)


def town_cards(session: Session, job: Job, progress: Progress) -> Made:
    town = _town(session, job)
    return _cards(session, town.id, town.name, progress, Village.town_id == town.id)


def village_cards(session: Session, job: Job, progress: Progress) -> Made:
    village = _village(session, job)
    name = f"{village.town.name}{village.name}"
    return _cards(session, village.town_id, name, progress, Village.id == village.id)


def town_notebooks(session: Session, job: Job, progress: Progress) -> Made:
    """Every cadre with households in the town: their notebook, as the asker may see it."""
    from server.console import pdf  # when first asked for, as in _cards

    town = _town(session, job)
    asker = session.get(Account, job.account_id)
    assert asker is not None  # a job goes with its account
    scope = scope_for(session, asker)
    cadres = town_cadres(session, town.id)
    printed = utcnow().astimezone(CHINA).date()
    photos = job.target.endswith(PHOTOS)
    # PDFs compress their own contents: stored as they are.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as folder:
        for number, cadre in enumerate(cadres, start=1):
            data = pdf.notebook_pdf(notebook(session, scope, cadre, photos), printed)
            folder.writestr(f"民情记录本-{cadre.name}-{cadre.phone}.pdf", data)
            progress(number / len(cadres))
    name = f"{town.name}民情记录本{'（含照片）' if photos else ''}.zip"
    return Made(name, "application/zip", archive.getvalue())


def _sheet(villages: list[SheetVillage], title: str, now: datetime, progress: Progress) -> Made:
    from server.console import pdf  # when first asked for, as in _cards

    progress(0.1)
    data = pdf.inspection_sheet_pdf(
        villages, title, now.astimezone(CHINA).date(), lambda done: progress(0.1 + done * 0.9)
    )
    return Made(f"{title}.pdf", PDF, data)


def town_inspection_sheet(session: Session, job: Job, progress: Progress) -> Made:
    """Every household of the town, for the admins who send inspectors out."""
    town = _town(session, job)
    now = utcnow()
    villages = inspection_sheet(session, now, Village.town_id == town.id)
    return _sheet(villages, f"{town.name}督查表", now, progress)


def inspector_sheet(session: Session, job: Job, progress: Progress) -> Made:
    """The households assigned to an inspector and not checked yet, of those the
    asker sees: the inspector themselves, or an admin printing it for them."""
    inspector = session.get(Account, uuid.UUID(job.target.partition("/")[0]))
    if inspector is None or inspector.role != AccountRole.INSPECTOR or not inspector.active:
        raise JobFailed(NO_INSPECTOR)
    asker = session.get(Account, job.account_id)
    assert asker is not None  # a job goes with its account
    now = utcnow()
    villages = inspection_sheet(
        session,
        now,
        Household.id.in_(sorted(assigned_households(session, inspector.id))),
        scope_for(session, asker).villages(),
    )
    name = inspector.display_name or inspector.username
    if not villages:
        raise JobFailed(NOTHING_ASSIGNED.format(name=name))
    return _sheet(villages, f"督查表（{name}）", now, progress)


def village_photos(session: Session, job: Job, progress: Progress) -> Made:
    """Every uploaded photo of the village, named 户主_日期_记录.jpg, and an index.csv
    saying whose each file is (two heads of household may share a name)."""
    village = _village(session, job)
    total = village_photos_count(session, village.id)
    if total == 0:
        raise JobFailed(NO_PHOTOS)
    index = io.StringIO()
    rows = csv.writer(index)
    rows.writerow(PHOTO_INDEX)
    taken: set[str] = set()
    archive = io.BytesIO()
    # JPEGs are compressed already: stored as they are.
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as folder:
        for number, photo in enumerate(filed_photos(session, village.id), start=1):
            day = photo.taken_on.astimezone(CHINA).strftime("%Y-%m-%d")
            kind = KIND_LABELS[photo.record_kind][0]
            stem = f"{photo.head_name}_{day}_{kind}"
            name, copy = f"{stem}.jpg", 1
            while name in taken:
                copy += 1
                name = f"{stem}_{copy}.jpg"
            taken.add(name)
            folder.writestr(name, photo.data)
            rows.writerow((photo.code, photo.head_name, kind, day, photo.cadre, name))
            progress(number / total * 0.95)
        # With a byte-order mark, so Excel reads it as UTF-8.
        folder.writestr("index.csv", "\ufeff" + index.getvalue())
    name = f"{village.town.name}{village.name}"
    return Made(f"{name}照片.zip", "application/zip", archive.getvalue())


HANDLERS: dict[str, Handler] = {
    "county_ledger": county_ledger,
    "town_ledger": town_ledger,
    "village_ledger": village_ledger,
    "town_cards": town_cards,
    "village_cards": village_cards,
    "town_notebooks": town_notebooks,
    "town_inspection_sheet": town_inspection_sheet,
    "inspector_sheet": inspector_sheet,
    "village_photos": village_photos,
}
