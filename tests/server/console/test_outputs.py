"""Downloads: the ledger (.xlsx), contact cards and the notebook (PDF), each within scope."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.audit.models import AuditEntry
from server.ledger.models import County as CountyRecord
from tests.server.console.conftest import County, csrf_token, login, prepared


def drawn(pdf: bytes) -> bytes:
    """Every page's drawing instructions, decompressed."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            continue  # an embedded font or image
    return b"\n".join(out)


def test_a_town_admin_downloads_their_towns_ledger_and_nothing_of_another_town(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    login(client, county.accounts["town_admin"])
    town = f"/ledger/towns/{county.town.id}"
    job = prepared(client, session_factory, town, f"{town}/ledger.xlsx")
    response = client.get(f"{job}/file")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data), read_only=True)["农户"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 11
    assert {row[1] for row in rows} == {"前楼镇"}
    token = {"csrf_token": csrf_token(client, town)}
    other = client.post(f"/ledger/towns/{county.other_town.id}/ledger.xlsx", data=token)
    assert other.status_code == 404
    assert client.post("/ledger/ledger.xlsx", data=token).status_code == 403


def test_a_villages_contact_cards_are_one_per_household_eight_to_a_page(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    login(client, county.accounts["village_leader"])
    village = f"/ledger/villages/{county.village.id}"
    job = prepared(client, session_factory, village, f"{village}/cards.pdf")
    response = client.get(f"{job}/file")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    # Chinese from Droid Sans Fallback, digits from DejaVu Sans: both embedded.
    assert b"DroidSansFallback" in pdf and b"DejaVuSans" in pdf
    assert drawn(pdf).count(b" re S") == 8, "one card (a framed rectangle) per household"


def test_the_county_admin_sets_the_service_numbers_printed_on_every_card(
    client: FlaskClient, county: County, session: Session
) -> None:
    login(client, county.accounts["county_admin"])
    response = client.post(
        "/settings",
        data={
            "csrf_token": csrf_token(client, "/settings"),
            "numbers": "便民热线 12345\n\n 急救 120 ",
        },
    )
    assert response.status_code == 302
    record = session.scalars(select(CountyRecord)).one()
    session.refresh(record)
    assert record.service_numbers == ["便民热线 12345", "急救 120"]
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.entity == "county")) == "update"
    )
    too_many = client.post(
        "/settings",
        data={"csrf_token": csrf_token(client, "/settings"), "numbers": "\n".join("x" * 9)},
    )
    assert too_many.status_code == 400 and "最多 8 行" in too_many.get_data(as_text=True)


def test_a_cadres_notebook_holds_their_households_visits_and_issues(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    response = client.get(f"/ledger/cadres/{county.cadre.id}/notebook.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    # The cover, the list, and the households' pages.
    assert len(re.findall(rb"/Type\s*/Page\b", response.data)) >= 3


def text_lines(pdf: bytes) -> list[str]:
    """The PDF's text as a reader extracts it, line by line."""
    reader = PdfReader(io.BytesIO(pdf))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


def test_phone_numbers_print_whole_on_one_line_in_the_notebook_and_on_the_cards(
    client: FlaskClient,
    county: County,
    session: Session,
    session_factory: sessionmaker[Session],
) -> None:
    household = county.households[0]
    household.phones = ["13905960001", "0596-58812345", "13905960003"]
    household.address = "前楼镇前楼村后巷东侧第三排靠近老祠堂的二层小楼旁边" * 2
    session.flush()
    login(client, county.accounts["town_admin"])
    notebook = client.get(f"/ledger/cadres/{county.cadre.id}/notebook.pdf").data
    village = f"/ledger/villages/{county.village.id}"
    job = prepared(client, session_factory, village, f"{village}/cards.pdf")
    cards = client.get(f"{job}/file").data
    for name, pdf in (("notebook", notebook), ("cards", cards)):
        lines = [line.replace(" ", "") for line in text_lines(pdf)]
        numbers = [*household.phones, county.cadre.phone] if name == "notebook" else []
        for number in [*numbers, county.cadre.phone]:
            assert any(number in line for line in lines), (name, number)
        # No line ends with part of a number that the next line finishes.
        for line, following in zip(lines, lines[1:], strict=False):
            tail, head = re.search(r"[\d-]*$", line), re.match(r"[\d-]*", following)
            joined = (tail.group() if tail else "") + (head.group() if head else "")
            for number in numbers:
                assert number not in joined or number in line or number in following, (
                    name,
                    line,
                    following,
                )


# Drawing a notebook is the same on either backend, and costs seconds: one.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_towns_notebooks_are_one_pdf_per_cadre_of_the_town_in_a_zip(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    login(client, county.accounts["town_admin"])
    town = f"/ledger/towns/{county.town.id}"
    job = prepared(client, session_factory, town, f"{town}/notebooks.zip")
    response = client.get(f"{job}/file")
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as folder:
        names = folder.namelist()
        assert all(folder.read(name).startswith(b"%PDF") for name in names)
    assert f"民情记录本-{county.cadre.name}-{county.cadre.phone}.pdf" in names
    assert f"民情记录本-{county.neighbour.name}-{county.neighbour.phone}.pdf" in names
    assert not any(county.other_cadre.phone in name for name in names), "康美镇's cadre"
