"""Which photo is on screen and how it got there: Open (the dialog, recent files, drag and
drop; a photo over the pixel limit asks first), PgUp / PgDn through its folder, the sample,
Save / Save As, Load Mask, and the window's title."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from app.settings import Settings
from app.viewmodels.masks import MaskEditor
from app.viewmodels.session import Session
from app.widgets.tools import ToolBox
from app.window.prompts import Button, Prompts
from app.window.status import StatusArea
from core.base import imageio
from core.base.resources import SAMPLE_IMAGE

TOO_LARGE = "too_large_prompt"


def file_filter() -> str:
    patterns = " ".join(f"*{s}" for s in imageio.SUPPORTED_SUFFIXES)
    return f"Images ({patterns});;All files (*)"


def dropped_path(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The first photo file among what is dragged over the window, if any."""
    for url in event.mimeData().urls():
        if (
            url.isLocalFile()
            and Path(url.toLocalFile()).suffix.lower() in imageio.SUPPORTED_SUFFIXES
        ):
            return url.toLocalFile()
    return None


class Documents(QObject):
    def __init__(
        self,
        window: QMainWindow,
        title: str,
        session: Session,
        masks: MaskEditor,
        toolbox: ToolBox,
        settings: Settings,
        status: StatusArea,
        prompts: Prompts,
        focus_canvas: Callable[[], object],
    ) -> None:
        super().__init__(window)
        self._window, self._title = window, title
        self._session, self._masks, self._toolbox, self._settings = (
            session,
            masks,
            toolbox,
            settings,
        )
        self._status, self._prompts, self._focus_canvas = status, prompts, focus_canvas
        self._too_large_path = ""

    # -- opening -----------------------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a photo (or switch back to it), or a folder's first photo; brush active."""
        self._toolbox.set_tool("brush")
        return self._session.open_path(path)

    def open_neighbour(self, step: int) -> bool:
        """The next (``step`` > 0) or previous photo in the current one's folder; past the last
        (or first) photo it goes round, and says so."""
        neighbour = self._session.neighbour(step)
        if neighbour is None:
            self._status.note("This photo is not in a folder of photos.")
            return False
        self._toolbox.set_tool("brush")
        if not self._session.open_neighbour(neighbour):
            return False
        where = f"{neighbour.name} ({neighbour.number} of {neighbour.count})"
        if neighbour.wrapped:
            end = "last" if step > 0 else "first"
            start = "first" if step > 0 else "last"
            self._status.note(
                f"That was the {end} photo in this folder: back to the {start}, {where}."
            )
        else:
            self._status.note(where)
        return True

    def open_next(self) -> bool:
        return self.open_neighbour(1)

    def open_previous(self) -> bool:
        return self.open_neighbour(-1)

    def open_sample(self) -> bool:
        self._toolbox.set_tool("brush")
        return self._session.open_sample()

    def open_dialog(self) -> None:
        start = self._settings.last_folder or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self._window, "Open photo", start, file_filter())
        self._focus_canvas()
        if path:
            self.open_path(path)

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        recent = self._settings.recent_files()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(partial(self._open_recent, path))
        if not recent:
            menu.addAction("No recent photos").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear Menu").triggered.connect(self._settings.clear_recent)

    def _open_recent(self, path: str, _checked: bool = False) -> None:
        self.open_path(path)

    def remember_opened(self, path: str) -> None:
        if Path(path).parent != SAMPLE_IMAGE.parent.resolve():  # the sample is no "recent" file
            self._settings.add_recent(path)
            self._settings.last_folder = str(Path(path).parent)

    def offer_open_anyway(self, path: str, text: str) -> None:
        """A photo over the pixel limit: ask whether to open it all the same."""
        self._too_large_path = path
        self._status.report(text)
        self._prompts.ask(
            TOO_LARGE, f"{text}\n\nOpen it anyway?",
            [("Open Anyway", Button.Open), ("Cancel", Button.Cancel)],
            self._too_large_answered,
        )  # fmt: skip

    def _too_large_answered(self, button: Button) -> None:
        self.answer_too_large(button == Button.Open)

    def answer_too_large(self, open_anyway: bool) -> bool:
        """The user's answer to "open anyway?" for a photo over the pixel limit."""
        self._prompts.close(TOO_LARGE)
        self._focus_canvas()
        if not open_anyway:
            self._status.note("Not opened.")
            return False
        return self._session.open_path(self._too_large_path, unlimited=True)

    # -- saving and the mask file ------------------------------------------------------------

    def save(self) -> bool:
        """Save; the first Save of a photo opened from a file asks where (Save As)."""
        if self._session.document is None:
            return False
        if self._session.needs_save_path():
            return self.save_as()
        return self._session.save()

    def save_as(self) -> bool:
        suggested = self._session.suggested_save_path()
        if suggested is None:
            return False
        # The dialog asks before replacing an existing file, so overwrite=True is confirmed.
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save photo as", str(suggested), file_filter()
        )
        self._focus_canvas()
        return bool(path) and self._session.save(path, overwrite=True)

    def load_mask_dialog(self) -> None:
        doc = self._session.document
        start = str(doc.path.parent) if doc and doc.path else self._settings.last_folder
        path, _ = QFileDialog.getOpenFileName(self._window, "Load mask", start, file_filter())
        self._focus_canvas()
        if path:
            self._masks.load_file(path)

    # -- the title ---------------------------------------------------------------------------

    def update_title(self) -> None:
        """The photo's title, with a mark while it has unsaved changes."""
        doc = self._session.document
        if doc is None:
            self._window.setWindowTitle(self._title)
            return
        self._window.setWindowTitle(f"{doc.title}[*] - {self._title}")
        self._window.setWindowModified(doc.modified)
