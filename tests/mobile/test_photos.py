"""Photos in the app: chosen for a visit (the desktop build's file chooser
stands in for the camera), made small off the UI thread, shown under the
visit on the household page and in the notebook, waiting on the sync page,
then sent; and a camera's 12-megapixel photo made small enough for 2G."""

from __future__ import annotations

import io
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kivy.core.window import Window
from PIL import Image
from sqlalchemy import select

from bench.samples import camera_photo, phone_photo
from mobile.photos import ImageChooser, PhotoPicker, PhotoViewer, Thumb, prepared
from mobile.widgets import StatusBar
from server.photos.models import Photo, PhotoBlob
from shared.protocol import PHOTO_LONG_EDGE
from sync.engine import SyncReport
from sync.transport import HttpTransport
from tests.live import LiveServer
from tests.mobile.driver import Phone, plain
from tests.server.sync.world import County

# Over 2G (~20 KB/s) a photo should go in well under ten seconds.
FITS_2G_BYTES = 200 * 1024


def _modal(kind: type) -> object:
    return next(child for child in Window.children if isinstance(child, kind))


def _choose(phone: Phone, picker: PhotoPicker, path: Path) -> None:
    """Tap "Add photo", pick ``path`` in the chooser, tap "Use this one"."""
    phone.tap(picker.ids.add)
    chooser = _modal(ImageChooser)
    assert isinstance(chooser, ImageChooser)
    phone.steady(chooser)
    files = chooser.ids.chooser
    files.path = str(path.parent)
    files.selection = [str(path)]
    phone.frames(count=2)
    phone.tap(chooser.ids.use)
    phone.settle()  # downscaled on the store's worker
    assert not picker.preparing


def _thumbs(root: object) -> list[Thumb]:
    return [w for w in root.walk(restrict=True) if isinstance(w, Thumb)]  # type: ignore[attr-defined]


def test_photos_chosen_for_a_visit_its_problem_and_a_follow_up_are_shown_counted_and_sent(
    phone: Phone, live: tuple[LiveServer, County], tmp_path: Path
) -> None:
    _, county = live
    roof, leak, mended = tmp_path / "roof.jpg", tmp_path / "leak.png", tmp_path / "mended.jpeg"
    roof.write_bytes(camera_photo(7, (2000, 1500)))
    Image.new("RGB", (640, 480), (90, 120, 60)).save(leak)
    Image.new("RGB", (480, 640), (200, 180, 60)).save(mended, "JPEG")
    phone.log_in(county.cadres[0])
    phone.open_household("林00")
    phone.tap(phone.ids("new_visit"))
    phone.type(phone.ids("notes"), "屋顶漏雨，拍了照片")
    picker = phone.ids("photos")
    _choose(phone, picker, roof)
    _choose(phone, picker, leak)
    assert len(picker.jpegs) == 2
    phone.tap(picker.ids.row.children[0].ids.drop)  # the second one, taken off again
    assert len(picker.jpegs) == 1
    assert Image.open(io.BytesIO(picker.jpegs[0])).size == (PHOTO_LONG_EDGE, 960)
    phone.tap(phone.ids("add_issue"))
    issue = phone.screen._issue_forms()[0]
    phone.choose(issue.ids.category, "infrastructure")
    phone.type(issue.ids.description, "屋顶漏雨")
    _choose(phone, issue.photos, leak)
    sizes = [len(picker.jpegs[0]), len(issue.photos.jpegs[0])]
    phone.screenshot("visit-photos")
    phone.tap(phone.ids("save"))
    assert phone.screen.name == "household"

    [visit_thumb] = _thumbs(phone.ids("visits"))
    [issue_thumb] = _thumbs(phone.ids("issues"))
    assert visit_thumb.texture is not None and issue_thumb.texture is not None
    phone.ids("scroller").scroll_to(visit_thumb, padding=20, animate=False)
    phone.screenshot("household-photos")  # docs/mobile-photos.png
    phone.tap(visit_thumb)
    viewer = _modal(PhotoViewer)
    assert isinstance(viewer, PhotoViewer)
    phone.wait_until(lambda: viewer.texture is not None)
    assert tuple(viewer.texture.size) == (PHOTO_LONG_EDGE, 960)
    phone.tap(viewer.ids.close)

    phone.tap(phone.ids("issues").children[-1])  # the newest issue: the one just raised
    assert phone.screen.name == "issue"
    assert len(_thumbs(phone.ids("header"))) == 1
    phone.type(phone.ids("note"), "已联系维修")
    _choose(phone, phone.ids("photos"), mended)
    sizes.append(len(phone.ids("photos").jpegs[0]))
    phone.tap(phone.ids("save"))
    [event_thumb] = _thumbs(phone.ids("events"))
    assert event_thumb.texture is not None

    phone.running.go("notebook")
    phone.settle()
    line = next(v for v in phone.ids("list").layout_manager.children if v.notes)
    assert "1 张照片" in phone.texts(line)
    assert [t.texture is not None for t in _thumbs(line)] == [True]

    phone.running.go("sync")
    phone.settle()
    phone.notice_cleared()
    (bar,) = [w for w in phone.screen.walk(restrict=True) if isinstance(w, StatusBar)]
    # A visit, its issue, the follow-up and the photos' three records; their bytes.
    assert plain(bar.ids.pending.text) == "待同步 6 条、照片 3 张"
    kb = -(-sum(sizes) // 1024)
    assert phone.read("photos_to_send") == f"还有 3 张照片待发送（{kb} KB）"
    phone.press("English")
    assert phone.read("photos_to_send") == f"3 photos ({kb} KB) still to send"
    phone.press("中文")
    sentence = phone.sync()
    assert "已发送 1 次走访、1 个问题、1 条跟进" in sentence, sentence
    assert "已发送 3 张照片" in sentence, sentence
    assert phone.read("photos_to_send") == ""
    with county.session() as session:
        photos = session.scalars(select(Photo)).all()
        assert sorted(photo.record_kind for photo in photos) == ["issue", "issue_event", "visit"]
        blobs = [session.get(PhotoBlob, photo.sha256) for photo in photos]
        assert sorted(blob.size for blob in blobs if blob) == sorted(sizes)


def test_a_photo_from_the_cadres_other_phone_comes_as_a_thumbnail_then_full_size_on_tap(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    server, county = live
    username = county.cadres[0]
    household_id = county.households[username][0]
    phone.log_in(username)
    # The other phone's store is used off the UI thread (the test fails any use on it).
    elsewhere = ThreadPoolExecutor(1)
    other = elsewhere.submit(
        county.phone, username, HttpTransport(server.url), name="办公室的手机"
    ).result()

    def records_only() -> None:
        other.sync()
        other.record_visit(household_id, notes="水渠修好了", photos=[phone_photo(5)])
        report = SyncReport()
        other.engine.push(report)  # the photo's record, not yet its bytes
        assert report.applied == 2, report

    try:
        elsewhere.submit(records_only).result()
        phone.sync()
        phone.open_household("林00")
        [thumb] = _thumbs(phone.ids("visits"))
        assert thumb.texture is None and phone.texts(thumb) == "照片未下载"

        elsewhere.submit(lambda: other.sync()).result()  # now its bytes
        phone.sync()
        phone.open_household("林00")
        [thumb] = _thumbs(phone.ids("visits"))
        assert thumb.texture is not None and tuple(thumb.texture.size) == (160, 120)

        server.stop()
        phone.tap(thumb)
        viewer = _modal(PhotoViewer)
        assert isinstance(viewer, PhotoViewer)
        phone.wait_until(lambda: viewer.can_fetch)
        assert viewer.message == "手机上只有缩略图：联网后点击下载"
        assert viewer.texture is None
        server.start()
        phone.tap(viewer.ids.download)
        phone.wait_until(lambda: viewer.texture is not None)
        assert tuple(viewer.texture.size) == (PHOTO_LONG_EDGE, 960) and not viewer.message
    finally:
        elsewhere.submit(other.close).result()
        elsewhere.shutdown()


def test_a_photo_the_server_refuses_is_said_on_the_sync_page_with_what_to_do(
    phone: Phone, live: tuple[LiveServer, County], tmp_path: Path
) -> None:
    _, county = live
    roof = tmp_path / "roof.jpg"
    Image.new("RGB", (640, 480), (150, 90, 60)).save(roof, "JPEG")
    phone.log_in(county.cadres[0])
    phone.open_household("林00")
    phone.tap(phone.ids("new_visit"))
    _choose(phone, phone.ids("photos"), roof)
    phone.tap(phone.ids("save"))
    # The photo's bytes damaged in the phone's storage: they no longer match their hash.
    with sqlite3.connect(phone.data_dir / "minqing.db") as db:
        db.execute("UPDATE photo_file SET data = zeroblob(size), thumbnail = NULL, sealed = 0")

    sentence = phone.sync()
    assert "已发送 1 次走访" in sentence, sentence
    assert "1 张照片未被服务器接受，原因见同步页" in sentence, sentence
    assert phone.texts(phone.ids("rejected_photos")) == (
        "照片数据与其 SHA-256 不符，已丢弃，请重新上传——这张照片不会再发送；"
        "如仍需要，请重新拍一张，在新的走访或跟进中添加"
    )
    assert phone.read("photos_to_send") == ""
    with county.session() as session:
        assert session.scalars(select(PhotoBlob)).all() == []


def test_a_cameras_12_megapixel_photo_is_made_small_enough_for_2g_and_its_file_deleted(
    tmp_path: Path,
) -> None:
    taken = camera_photo(3, (4000, 3000), gps=(26.1, 119.3))
    path = tmp_path / "camera" / "shot.jpg"
    path.parent.mkdir()
    path.write_bytes(taken)
    kept, small = prepared(path, temporary=True)
    assert not path.exists(), "the camera's own file, deleted once read"
    image = Image.open(io.BytesIO(kept))
    assert image.size == (PHOTO_LONG_EDGE, PHOTO_LONG_EDGE * 3 // 4)
    assert len(kept) < FITS_2G_BYTES < len(taken)
    assert not image.getexif()  # nor the camera's GPS
    assert Image.open(io.BytesIO(small)).size == (160, 120)
