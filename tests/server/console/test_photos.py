"""Photos in the console: shown with their records, served within scope, zipped
per village for an inspection, printed in the notebook."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.clock import utcnow
from server.console.reports import CHINA
from server.issues.models import IssueEvent
from server.photos.models import PhotoBlob
from server.visits.models import Visit
from tests.server.console.conftest import County, add_photo, csrf_token, login, prepared


def _visit_of(session: Session, county: County) -> Visit:
    """The latest visit to 陈志明's first household."""
    visit = session.scalars(
        select(Visit).where(Visit.household_id == county.households[0].id)
    ).first()
    assert visit is not None
    return visit


def test_a_households_page_shows_each_visits_photos_as_lazy_thumbnails_linking_to_the_image(
    client: FlaskClient, county: County, session: Session
) -> None:
    visit = _visit_of(session, county)
    first = add_photo(session, county.households[0], "visit", visit.id, seed=1)
    second = add_photo(session, county.households[0], "visit", visit.id, seed=2)
    login(client, county.accounts["town_admin"])
    page = client.get(f"/ledger/households/{county.households[0].id}").get_data(as_text=True)
    for photo in (first, second):
        link = re.search(
            rf'<a class="photo" href="/photos/{photo.id}/photo.jpg"><img src="/photos/{photo.id}'
            r'/thumbnail.jpg" loading="lazy" width="(\d+)" height="(\d+)" alt="([^"]+)"',
            page,
        )
        assert link is not None
        # The thumbnail's own size, so the page does not jump as thumbnails arrive.
        thumbnail = Image.open(io.BytesIO(client.get(f"/photos/{photo.id}/thumbnail.jpg").data))
        assert (int(link[1]), int(link[2])) == thumbnail.size
        # Named by the visit's day (the photo may have been sent days later).
        assert link[3] == f"走访照片 {visit.visited_at.astimezone(CHINA):%Y-%m-%d}"
    assert "photos.js" in page


def test_a_photo_and_its_thumbnail_are_jpegs_the_browser_keeps_privately(
    client: FlaskClient, county: County, session: Session
) -> None:
    photo = add_photo(session, county.households[0], "visit", _visit_of(session, county).id)
    blob = session.get(PhotoBlob, photo.sha256)
    assert blob is not None
    login(client, county.accounts["inspector"])
    full = client.get(f"/photos/{photo.id}/photo.jpg")
    small = client.get(f"/photos/{photo.id}/thumbnail.jpg")
    assert full.status_code == small.status_code == 200
    assert full.data == blob.data and small.data == blob.thumbnail
    for answer in (full, small):
        assert answer.headers["Content-Type"] == "image/jpeg"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.cache_control.private and answer.cache_control.max_age == 86400
    assert full.headers["ETag"] != small.headers["ETag"]
    assert Image.open(io.BytesIO(full.data)).width > Image.open(io.BytesIO(small.data)).width
    again = client.get(
        f"/photos/{photo.id}/photo.jpg", headers={"If-None-Match": full.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_a_photo_is_not_found_outside_its_records_scope(
    client: FlaskClient, county: County, session: Session
) -> None:
    visit_photo = add_photo(session, county.households[0], "visit", _visit_of(session, county).id)
    issue_photo = add_photo(session, county.households[0], "issue", county.issue.id, seed=2)
    login(client, county.accounts["other_town_admin"])
    for photo in (visit_photo, issue_photo):
        for size in ("photo", "thumbnail"):
            answer = client.get(f"/photos/{photo.id}/{size}.jpg")
            assert answer.status_code == 404 and answer.mimetype == "text/html"
    # 县教育局 sees the photos of the problem passed to it, not the household's visits.
    login(client, county.accounts["department"])
    assert client.get(f"/photos/{issue_photo.id}/photo.jpg").status_code == 200
    assert client.get(f"/photos/{visit_photo.id}/photo.jpg").status_code == 404


def test_a_deleted_photo_or_one_whose_bytes_have_not_arrived_is_not_shown_or_served(
    client: FlaskClient, county: County, session: Session
) -> None:
    visit = _visit_of(session, county)
    waiting = add_photo(session, county.households[0], "visit", visit.id, seed=3, uploaded=False)
    deleted = add_photo(session, county.households[0], "visit", visit.id, seed=4)
    deleted.deleted_at = utcnow()
    session.flush()
    login(client, county.accounts["county_admin"])
    page = client.get(f"/ledger/households/{county.households[0].id}").get_data(as_text=True)
    assert "照片待上传" in page
    assert str(waiting.id) not in page and str(deleted.id) not in page
    for photo in (waiting, deleted):
        assert client.get(f"/photos/{photo.id}/photo.jpg").status_code == 404


def test_the_photo_of_a_deleted_visit_is_not_found(
    client: FlaskClient, county: County, session: Session
) -> None:
    visit = _visit_of(session, county)
    photo = add_photo(session, county.households[0], "visit", visit.id)
    visit.deleted_at = utcnow()
    session.flush()
    login(client, county.accounts["county_admin"])
    assert client.get(f"/photos/{photo.id}/thumbnail.jpg").status_code == 404


def test_a_problems_timeline_shows_the_photos_it_was_raised_with_and_each_follow_ups(
    client: FlaskClient, county: County, session: Session
) -> None:
    raised = add_photo(session, county.households[0], "issue", county.issue.id, seed=1)
    event = session.scalars(
        select(IssueEvent).where(IssueEvent.issue_id == county.issue.id)
    ).first()
    assert event is not None
    followed = add_photo(session, county.households[0], "issue_event", event.id, seed=2)
    login(client, county.accounts["department"])
    page = client.get(f"/problems/{county.issue.id}").get_data(as_text=True)
    description = page.index("孩子上大学的助学贷款")
    timeline = page.index('<ol class="timeline">')
    assert description < page.index(f"/photos/{raised.id}/thumbnail.jpg") < timeline
    assert timeline < page.index(f"/photos/{followed.id}/thumbnail.jpg")
    assert 'alt="问题照片 ' in page and 'alt="跟进照片 ' in page


def test_the_inspection_sample_shows_the_photos_of_the_households_drawn(
    client: FlaskClient, county: County, session: Session
) -> None:
    photo = add_photo(session, county.households[0], "visit", _visit_of(session, county).id)
    login(client, county.accounts["inspector"])
    # Every household of 前楼村 is drawn: eight at most.
    page = client.get(f"/inspections/sample?village={county.village.id}&size=20&seed=1")
    assert f"/photos/{photo.id}/thumbnail.jpg" in page.get_data(as_text=True)


def test_a_villages_photos_download_as_a_zip_named_by_household_and_day_with_an_index(
    client: FlaskClient,
    county: County,
    session: Session,
    session_factory: sessionmaker[Session],
) -> None:
    visit = _visit_of(session, county)
    head = county.households[0].head_name
    for seed in (1, 2):
        add_photo(session, county.households[0], "visit", visit.id, seed=seed)
    add_photo(session, county.households[0], "issue", county.issue.id, seed=3)
    add_photo(session, county.other_household, "visit", visit.id, seed=4)  # 康美镇's: not in it
    add_photo(session, county.households[1], "visit", visit.id, seed=5, uploaded=False)
    login(client, county.accounts["town_admin"])
    village = f"/ledger/villages/{county.village.id}"
    assert "下载本村照片" in client.get(village).get_data(as_text=True)
    job = prepared(client, session_factory, village, f"{village}/photos.zip")
    answer = client.get(f"{job}/file")
    assert answer.mimetype == "application/zip"
    folder = zipfile.ZipFile(io.BytesIO(answer.data))
    visited = f"{visit.visited_at.astimezone(CHINA):%Y-%m-%d}"
    raised = f"{county.issue.raised_at.astimezone(CHINA):%Y-%m-%d}"
    assert sorted(folder.namelist()) == sorted(
        [
            f"{head}_{visited}_走访.jpg",
            f"{head}_{visited}_走访_2.jpg",
            f"{head}_{raised}_问题.jpg",
            "index.csv",
        ]
    )
    index = list(csv.reader(io.StringIO(folder.read("index.csv").decode("utf-8-sig"))))
    assert index[0] == ["户编号", "户主", "记录", "日期", "干部", "文件"]
    assert {row[5] for row in index[1:]} == set(folder.namelist()) - {"index.csv"}
    assert all(row[0] == county.households[0].code and row[1] == head for row in index[1:])
    image = Image.open(io.BytesIO(folder.read(f"{head}_{visited}_走访.jpg")))
    assert image.format == "JPEG"


def test_a_village_without_photos_gets_a_job_that_says_so(
    client: FlaskClient, county: County, session_factory: sessionmaker[Session]
) -> None:
    from server.console.downloads import HANDLERS
    from server.jobs.worker import Worker

    login(client, county.accounts["county_admin"])
    village = f"/ledger/villages/{county.second_village.id}"
    asked = client.post(f"{village}/photos.zip", data={"csrf_token": csrf_token(client, village)})
    assert Worker(session_factory, HANDLERS, heartbeat=3600).run_one()
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "本村还没有已上传的照片" in page


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_cadres_notebook_prints_the_photos_thumbnails_when_asked(
    client: FlaskClient, county: County, session: Session
) -> None:
    add_photo(session, county.households[0], "visit", _visit_of(session, county).id, seed=1)
    add_photo(session, county.households[0], "issue", county.issue.id, seed=2)
    login(client, county.accounts["town_admin"])
    cadre = f"/ledger/cadres/{county.cadre.id}"
    page = client.get(cadre).get_data(as_text=True)
    assert 'name="photos" value="1"' in page and "含照片缩略图" in page
    plain = client.get(f"{cadre}/notebook.pdf")
    with_photos = client.get(f"{cadre}/notebook.pdf?photos=1")
    assert plain.mimetype == with_photos.mimetype == "application/pdf"
    assert _images(plain.data) == 0
    assert _images(with_photos.data) == 2


def test_a_towns_notebooks_print_the_photos_thumbnails_when_asked(
    client: FlaskClient,
    county: County,
    session: Session,
    session_factory: sessionmaker[Session],
) -> None:
    from server.console.downloads import HANDLERS
    from server.jobs.worker import Worker

    add_photo(session, county.households[0], "visit", _visit_of(session, county).id)
    login(client, county.accounts["town_admin"])
    town = f"/ledger/towns/{county.town.id}"
    page = client.get(town).get_data(as_text=True)
    assert re.search(r'notebooks.zip">.*?name="photos" value="1"> 含照片缩略图', page)
    images = {}
    for photos in ("", "1"):
        asked = client.post(
            f"{town}/notebooks.zip", data={"csrf_token": csrf_token(client, town), "photos": photos}
        )
        assert Worker(session_factory, HANDLERS, heartbeat=3600).run_one()
        answer = client.get(f"{asked.headers['Location']}/file")
        folder = zipfile.ZipFile(io.BytesIO(answer.data))
        (mine,) = [name for name in folder.namelist() if county.cadre.name in name]
        images[photos] = (answer.headers["Content-Disposition"], _images(folder.read(mine)))
    assert images[""][1] == 0 and images["1"][1] == 1
    assert "%E5%90%AB%E7%85%A7%E7%89%87" in images["1"][0]  # 含照片, in the file's name
