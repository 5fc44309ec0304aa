"""Photos on the phone's screens: taken (or chosen) for a form, shown small
under the records they belong to, and opened at full size.

Reading and downscaling a camera's photo takes half a second: it runs on the
store's worker thread like every other slow job (mobile/worker.py), and
comes back as the JPEG the phone keeps (shared/images.py ``downscale``).
Textures are made from the bytes on the UI thread, as OpenGL needs.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.stacklayout import StackLayout
from kivy.uix.widget import Widget
from kivy.utils import platform

from mobile.i18n import pick
from shared.images import downscale, thumbnail
from shared.protocol import MAX_PHOTOS_PER_RECORD
from sync.transport import RequestRefused, TransportError

# What the desktop build's chooser offers: the photos a camera or a scanner makes.
IMAGE_PATTERNS = ["*.jpg", "*.jpeg", "*.png", "*.JPG", "*.JPEG", "*.PNG"]

Chosen = Callable[[Path, bool], None]


def prepared(path: Path, temporary: bool) -> tuple[bytes, bytes]:
    """A chosen or taken image as the phone keeps it, and its thumbnail (a
    worker's job). The camera's own file is deleted once read: only the
    small copy, sealed in the store, stays on the phone."""
    try:
        kept = downscale(path.read_bytes())
    finally:
        if temporary:
            path.unlink(missing_ok=True)
    return kept, thumbnail(kept)


def texture_of(jpeg: bytes) -> Texture:
    texture: Texture = CoreImage(io.BytesIO(jpeg), ext="jpg").texture
    return texture


def take_photo(data_dir: Path, chosen: Chosen) -> None:
    """The camera on Android, into a file of the app's own; a file chooser on
    the desktop build. ``chosen(path, temporary)`` on the UI thread."""
    if platform == "android":
        folder = data_dir / "camera"
        folder.mkdir(exist_ok=True)
        _android_camera(folder, chosen)
    else:
        ImageChooser(chosen=lambda path: chosen(path, False)).open()


# Our request's code, to tell its answer from other activities' answers.
CAMERA_REQUEST = 0x4D51
# Android 10 (API 29) lets any app add to the phone's pictures; before it,
# that needs WRITE_EXTERNAL_STORAGE (buildozer.spec asks for it up to API 28).
SCOPED_STORAGE_API = 29


def _android_camera(folder: Path, chosen: Chosen) -> None:
    """Ask the phone's camera app for one photo (ACTION_IMAGE_CAPTURE).

    Android 7+ refuses to hand another app a file:// path (plyer's way), and
    from Android 11 the camera app may not write into our folders: it writes
    into a MediaStore entry made for this photo instead, a content:// address
    it is granted for this one photo (pending, so no gallery shows it). The
    bytes are copied into ``folder`` and the entry deleted. Not yet run on a
    device (docs/mobile.md).
    """
    from jnius import autoclass

    if autoclass("android.os.Build$VERSION").SDK_INT >= SCOPED_STORAGE_API:
        _capture(folder, chosen, pending=True)
        return
    from android.permissions import Permission, request_permissions

    request_permissions(
        [Permission.WRITE_EXTERNAL_STORAGE],
        lambda _names, granted: all(granted) and _capture(folder, chosen, pending=False),
    )


def _capture(folder: Path, chosen: Chosen, *, pending: bool) -> None:
    from android import activity
    from jnius import autoclass, cast

    media_store = autoclass("android.provider.MediaStore")
    images = autoclass("android.provider.MediaStore$Images$Media")
    intent_class = autoclass("android.content.Intent")
    current = autoclass("org.kivy.android.PythonActivity").mActivity
    resolver = current.getContentResolver()
    values = autoclass("android.content.ContentValues")()
    values.put("_display_name", f"minqing-{uuid.uuid4().hex}.jpg")
    values.put("mime_type", "image/jpeg")
    if pending:  # hidden from galleries until deleted (Android 10+)
        values.put("is_pending", autoclass("java.lang.Integer")(1))
    target = resolver.insert(images.EXTERNAL_CONTENT_URI, values)
    intent = intent_class(media_store.ACTION_IMAGE_CAPTURE)
    intent.putExtra(media_store.EXTRA_OUTPUT, cast("android.os.Parcelable", target))
    intent.addFlags(intent_class.FLAG_GRANT_WRITE_URI_PERMISSION)

    def answered(request: int, result: int, _data: Any) -> None:
        if request != CAMERA_REQUEST:
            return
        activity.unbind(on_activity_result=answered)
        path = folder / f"{uuid.uuid4().hex}.jpg"
        try:
            if result == -1:  # RESULT_OK; the cadre may have backed out instead
                descriptor = resolver.openFileDescriptor(target, "r")
                with os.fdopen(descriptor.detachFd(), "rb") as taken:
                    path.write_bytes(taken.read())
        finally:
            resolver.delete(target, None, None)
        if path.is_file():
            Clock.schedule_once(lambda _dt: chosen(path, True))

    activity.bind(on_activity_result=answered)
    current.startActivityForResult(intent, CAMERA_REQUEST)


class ImageChooser(ModalView):
    """The desktop build's stand-in for the camera: a file chooser of images."""

    chosen = ObjectProperty(None)
    patterns = ListProperty(IMAGE_PATTERNS)
    start = StringProperty(str(Path.home()))

    def use(self, selection: list[str]) -> None:
        if selection:
            self.dismiss(animation=False)
            self.chosen(Path(selection[0]))


class Thumb(ButtonBehavior, BoxLayout):
    """A photo's thumbnail to tap (or "not downloaded" until it comes)."""

    texture = ObjectProperty(None, allownone=True)
    missing = StringProperty("")


class PickedPhoto(BoxLayout):
    """A photo on a form before it is saved, with its × to take it off."""

    texture = ObjectProperty(None)
    jpeg = ObjectProperty(b"")


class PhotoPicker(BoxLayout):
    """A form's "Add photo" button and the photos picked so far."""

    # Images being read and made small.
    preparing = ListProperty()
    full = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(preparing=self._count)

    @property
    def jpegs(self) -> list[bytes]:
        """The picked photos' bytes, in the order picked."""
        return [picked.jpeg for picked in reversed(self.ids.row.children)]

    def clear(self) -> None:
        self.ids.row.clear_widgets()
        self._count()

    def add(self) -> None:
        app = App.get_running_app()
        take_photo(app.data_dir, self.prepare)

    def prepare(self, path: Path, temporary: bool) -> None:
        """Make the picked image small on the worker, then show it."""
        app = App.get_running_app()
        self.preparing.append(path)

        def done(result: tuple[bytes, bytes]) -> None:
            self.preparing.remove(path)
            jpeg, small = result
            self.ids.row.add_widget(PickedPhoto(texture=texture_of(small), jpeg=jpeg))
            self._count()

        def failed(error: BaseException) -> None:
            self.preparing.remove(path)
            app.say(app.t("photo.unreadable", message=pick(str(error), app.lang)))

        app.store.submit(lambda: prepared(path, temporary), done, failed)

    def remove(self, picked: PickedPhoto) -> None:
        self.ids.row.remove_widget(picked)
        self._count()

    def _count(self, *_: Any) -> None:
        self.full = len(self.ids.row.children) + len(self.preparing) >= MAX_PHOTOS_PER_RECORD


class PhotoStrip(StackLayout):
    """The thumbnails of a saved record's photos; a tap opens one at full size."""

    photos = ListProperty()  # PhotoView

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_photos()  # photos given here were set before there was a canvas

    def on_photos(self, *_: Any) -> None:
        if self.canvas is None:
            return
        self.clear_widgets()
        app = App.get_running_app()
        for photo in self.photos:
            thumb = Thumb(
                texture=texture_of(photo.thumbnail) if photo.thumbnail else None,
                missing="" if photo.thumbnail else app.t("photo.not_downloaded"),
            )
            thumb.bind(on_release=lambda _t, sha256=photo.sha256: PhotoViewer(sha256=sha256).open())
            self.add_widget(thumb)


def add_photos(box: Widget, photos: list[Any]) -> None:
    """Put a record's thumbnails (PhotoView) under it in ``box``, if it has photos."""
    if photos:
        box.add_widget(PhotoStrip(photos=photos))


class PhotoViewer(ModalView):
    """A photo at full size: from the phone, or fetched from the server when
    only its thumbnail is here (which needs signal)."""

    sha256 = StringProperty("")
    texture = ObjectProperty(None, allownone=True)
    message = StringProperty("")
    # Whether a fetch can be tried (again) with the download button.
    can_fetch = BooleanProperty(False)

    def on_open(self) -> None:
        app = App.get_running_app()
        self.message = app.t("photo.opening")
        app.call(lambda notebook: notebook.photo_data(self.sha256), self._here)

    def _here(self, jpeg: bytes | None) -> None:
        if jpeg is None:
            self.fetch()
        else:
            self._show(jpeg)

    def fetch(self) -> None:
        """Ask the server for the photo, on the network thread (as syncs are)."""
        app = App.get_running_app()
        notebook = app.notebook
        if notebook is None:
            return
        self.can_fetch = False
        self.message = app.t("photo.downloading")
        sha256 = self.sha256
        app.runner.worker.submit(lambda: notebook.fetch_photo(sha256), self._show, self._failed)

    def _show(self, jpeg: bytes) -> None:
        self.texture = texture_of(jpeg)
        self.message = ""

    def _failed(self, error: BaseException) -> None:
        app = App.get_running_app()
        if isinstance(error, RequestRefused):
            # Not uploaded yet by the phone that took it, or no longer in scope.
            self.message = app.t("photo.refused", message=pick(str(error), app.lang))
        elif isinstance(error, TransportError):
            self.message = app.t("photo.offline")
        else:
            app.show_error(error)
            self.message = ""
        self.can_fetch = True
