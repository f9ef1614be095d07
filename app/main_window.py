"""The editor window: makes the view-models (``app.viewmodels``), the canvas and the window's
parts (``app.window``: actions, menus and tool bars, documents, docks, status bar, prompts) and
wires them together.

Little logic lives here: actions call a view-model, the canvas or a part, and widgets follow the
view-models' signals. The panels see the window only as a ``PanelHost`` (``Docks``). Automation
contract (outside tests drive the window through it): ``open_path``, ``document()``,
``fill_finished`` and the objectNames of the actions and of the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

from app.icons import icon
from app.settings import Settings
from app.viewmodels.autosave import Autosaver, restore
from app.viewmodels.detect import DetectViewModel
from app.viewmodels.document import Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.generated import GeneratedPictures
from app.viewmodels.latent import LatentViewModel
from app.viewmodels.latent_fill import LatentFill, Preview
from app.viewmodels.layout import LayoutPreview, LayoutViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.methods import LEARNED, MethodCatalog
from app.viewmodels.session import Session
from app.widgets.canvas import Canvas, CompareKeys
from app.widgets.tools import ToolBox
from app.window.actions import WindowActions, set_icons
from app.window.bars import ToolBars, make_menus
from app.window.docks import Docks
from app.window.documents import Documents, dropped_path
from app.window.prompts import Button, Prompts
from app.window.status import StatusArea
from app.worker import Workers
from core.base.recovery import RecoveredDocument, RecoveryStore

APP_TITLE = "Manifold Inpaint"
# Offscreen / minimal platforms have nobody to answer a dialog (tests, CI screenshots).
HEADLESS_PLATFORMS = {"offscreen", "minimal"}
APP_ICON = "app"
RECOVERY = "recovery_prompt"


class MainWindow(QMainWindow):
    fill_finished = Signal()  # a fill was applied to the document

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self._make_view_models()
        self._recovered: list[RecoveredDocument] = []
        # Decides Save / Discard / Cancel for unsaved work on close; tests replace it.
        self.ask_unsaved: Callable[[list[str]], Button] = self._ask_unsaved
        self.toolbox = ToolBox(self.masks, self.settings.brush_size, self)
        self.canvas = Canvas(self.session, self.toolbox, self)
        self.setCentralWidget(self.canvas)
        # Hold \ or C to compare wherever the focus is in the window, not only on the canvas.
        self._compare_keys = CompareKeys(self, self.canvas)
        QApplication.instance().installEventFilter(self._compare_keys)
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icon(APP_ICON))
        self.status_area = StatusArea(self, APP_TITLE, self.focus_canvas)
        self.prompts = Prompts(self, APP_TITLE)
        self.documents = Documents(
            self, APP_TITLE, self.session, self.masks, self.toolbox, self.settings,
            self.status_area, self.prompts, self.focus_canvas,
        )  # fmt: skip
        self.action = WindowActions(
            self, self.documents, self.session, self.masks, self.fill, self.canvas, self.toolbox,
            self.settings,
        )  # fmt: skip
        self.status_area.set_cancel(self.action.cancel)
        menus = make_menus(self, self.action, self.documents.fill_recent_menu)
        self.toolbars = ToolBars(
            self, self.action, self.toolbox, self.methods, self.fill, self.settings, self.canvas
        )
        self.method_combo, self.device_combo = (
            self.toolbars.method_combo,
            self.toolbars.device_combo,
        )
        self._bind()
        self.docks = Docks(self, menus, self.toolbars.bars, self.status_area, self.detect,
                           self.latent)  # fmt: skip
        self.detect_dock, self.detect_panel = self.docks.detect, self.docks.detect.panel
        self.detect_actions = self.docks.detect.actions
        self.latent_dock, self.latent_panel = self.docks.latent, self.docks.latent.panel
        self.detect.proposal_changed.connect(self.canvas.set_proposal)
        self.latent.preview_changed.connect(self._show_preview)
        set_icons(self)  # the panels' actions too
        self._update_enabled()
        self.resize(1200, 800)
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        self._report_unavailable_methods()
        QTimer.singleShot(0, self.offer_recovery)  # once the window is up

    # -- automation contract -----------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a photo (or switch back to it, with its mask and result), or a folder's first
        photo (PgUp / PgDn go through the others); brush active, fitted.
        A photo over 4 MB is read in the background: True then means "opening", and the
        session's ``document_changed`` says when it is there."""
        return self.documents.open_path(path)

    def open_neighbour(self, step: int) -> bool:
        """The next (``step`` > 0) or previous photo in the current one's folder; past the last
        (or first) photo it goes round, and says so."""
        return self.documents.open_neighbour(step)

    def document(self) -> Document | None:
        return self.session.document

    def open_sample(self) -> bool:
        return self.documents.open_sample()

    def record_sample_seen(self) -> None:
        """The first launch's sample photo was shown: later launches start empty."""
        self.settings.seen_sample = True

    def save(self) -> bool:
        """Save; the first Save of a photo opened from a file asks where (Save As)."""
        return self.documents.save()

    def prompt(self, name: str) -> QMessageBox | None:
        """The open prompt called ``name`` (``too_large_prompt``, ``recovery_prompt``)."""
        return self.prompts.shown(name)

    def answer_too_large(self, open_anyway: bool) -> bool:
        """The user's answer to "open anyway?" for a photo over the pixel limit."""
        return self.documents.answer_too_large(open_anyway)

    def focus_canvas(self) -> None:
        """After a dialog or prompt: the window active again and the keys on the canvas, so
        that shortcuts work at once (a bare X server gives the focus back to nobody)."""
        self.activateWindow()
        self.raise_()
        self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- construction ------------------------------------------------------------------------

    def _make_view_models(self) -> None:
        self.workers = Workers(self)
        self.methods = MethodCatalog(self)
        self.session = Session(self.workers.files, self)
        self.session.max_pixels = self.settings.max_pixels
        self.masks = MaskEditor(self.session, self)
        self.fill = FillViewModel(self.session, self.masks, self.methods, self.workers.model, self)
        self.detect = DetectViewModel(
            self.session, self.masks, self.fill, self.workers.detect, self
        )
        self.layout = LayoutViewModel(self.session, self.workers.model, self)
        # The latent panel's: the fill of a photo's mask, a generated picture's layout.
        fills = LatentFill(self.session, self.fill, self.methods, self.workers.model, parent=self)
        generated = GeneratedPictures(self.session, self.layout, self)
        self.latent = LatentViewModel(self.session, self.methods, fills, generated, parent=self)
        self.autosaver = Autosaver(self.session, RecoveryStore(), self.workers.files, self)

    def _bind(self) -> None:
        s, fill, status = self.session, self.fill, self.status_area
        s.document_changed.connect(self._on_document)
        fill.busy_changed.connect(self._on_busy)
        fill.progress.connect(status.show_progress)
        s.message.connect(status.note)
        # A fill's report (what, with which method, how long) stays until the next message.
        fill.status.connect(status.report)
        for source in (s, fill):
            source.error.connect(status.show_error)
        fill.finished.connect(self.fill_finished)
        s.mask_visible_changed.connect(self.action.show_mask.setChecked)
        s.opened.connect(self.documents.remember_opened)
        s.too_large.connect(self.documents.offer_open_anyway)
        s.loading_changed.connect(self._on_loading)
        self.autosaver.failed.connect(status.note)
        s.undo_group.cleanChanged.connect(self.documents.update_title)
        self.canvas.view_changed.connect(status.show_zoom)

    # -- reactions ---------------------------------------------------------------------------

    def _update_enabled(self) -> None:
        has_doc, busy, loading = (
            self.session.document is not None,
            self.fill.busy,
            self.session.loading,
        )
        self.action.update_enabled(has_doc, busy, loading)
        self.status_area.show_working(busy, loading)

    def _on_busy(self, _busy: bool) -> None:
        self._update_enabled()

    def _on_document(self) -> None:
        self._update_enabled()
        self.canvas.setFocus()  # so that space, backslash and C reach it at once
        self.documents.update_title()

    def _on_loading(self, loading: bool) -> None:
        self.status_area.show_loading(loading)
        self._update_enabled()

    def _show_preview(self, preview: Preview | LayoutPreview | None) -> None:
        if preview is None:
            self.canvas.set_preview(None)
        else:
            self.canvas.set_preview(preview.patch, preview.box, preview.frame)

    def _report_unavailable_methods(self) -> None:
        why_not = self.methods.why_not(LEARNED)
        if why_not:
            self.status_area.report(
                f"The manifold model is unavailable ({why_not}); using {self.fill.method} instead."
            )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    # -- crash recovery ----------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """If an editor was killed with unsaved work, ask whether to restore it."""
        self._recovered = self.autosaver.store.orphans()
        if not self._recovered:
            return False
        names = ", ".join(sorted({e.title for e in self._recovered}))
        self.prompts.ask(
            RECOVERY,
            f"The editor did not close properly last time. Restore the unsaved masks and "
            f"fills of {names}?",
            [("Restore", Button.Yes), ("Discard", Button.Discard)],
            self._recovery_answered,
        )
        return True

    def _recovery_answered(self, button: Button) -> None:
        self.answer_recovery(button == Button.Yes)

    def answer_recovery(self, restore_work: bool) -> int:
        """Restore (or discard) what ``offer_recovery`` found; returns documents restored."""
        self.prompts.close(RECOVERY)
        self.focus_canvas()
        entries, self._recovered = self._recovered, []
        restored, problems = restore(self.session, self.masks, entries) if restore_work else (0, [])
        self.autosaver.store.remove_orphans(entries)  # ours now: autosaved again in our folder
        if problems:
            self.status_area.show_error("; ".join(problems))
        elif restored:
            self.status_area.report(f"Restored the unsaved work of {restored} photo(s).")
        return restored

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.session.loading:  # the photo would arrive in a window that is going away
            self.status_area.report("Still opening a photo; close again in a moment.")
            event.ignore()
            return
        if not self._confirm_close():
            event.ignore()
            return
        QApplication.instance().removeEventFilter(self._compare_keys)
        self.autosaver.shutdown(discard=True)  # a clean exit leaves no recovery files
        self.workers.shutdown()  # no fill, render, detection or read outlives the window
        self.prompts.close_all()
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        self.status_area.close()
        super().closeEvent(event)

    def _confirm_close(self) -> bool:
        """Unsaved work: Save (each unsaved photo in turn), Discard, or Cancel the close."""
        while self.session.unsaved_titles():
            answer = self.ask_unsaved(self.session.unsaved_titles())
            if answer == Button.Discard:
                return True
            if answer != Button.Save:
                return False
            doc = next(d for d in self.session.documents() if d.modified)
            self.session.activate(doc)  # Save acts on the shown photo
            if not self.save() or doc.modified:
                return False  # cancelled or failed (the error is shown): stay open
        return True

    def _ask_unsaved(self, titles: list[str]) -> Button:
        if QGuiApplication.platformName() in HEADLESS_PLATFORMS:
            return Button.Discard  # nobody to ask (tests replace ``ask_unsaved``)
        return QMessageBox.question(
            self, APP_TITLE, f"Save the changes to {', '.join(titles)} before closing?",
            Button.Save | Button.Discard | Button.Cancel, Button.Cancel,
        )  # fmt: skip
