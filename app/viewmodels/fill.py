"""View-model of Fill: the chosen method and device, the background fill job, its progress,
cancel, errors and the CPU fallback after an accelerator failure.

A fill is a snapshot ``FillRequest`` (made in ``make_request``, the one place the editor builds
one) run on the model worker; its ``FillResult`` (the image, the boxes a fill may have changed,
the path each region took) is applied as one undo step only if the document still holds the
image and mask the fill started from (else it is stale and dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.viewmodels.commands import FillCommand
from app.viewmodels.document import Document
from app.viewmodels.jobs import Job, JobViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.methods import MethodCatalog
from app.viewmodels.session import Session
from app.worker import Failure, Worker
from core.base.device import resolve_device
from core.base.errors import InpaintError
from core.base.progress import Steps
from core.pipeline import session as pipeline


def make_request(
    image: np.ndarray, mask: np.ndarray, method: str, device: str, grain: bool = False
) -> pipeline.FillRequest:
    """The engine's request for a fill of ``mask`` in ``image`` (a snapshot: ``mask`` is a copy
    the user no longer edits)."""
    return pipeline.FillRequest(image, mask, method, device=device, grain=grain)


def _fill_steps(request: pipeline.FillRequest) -> Steps[pipeline.FillResult]:
    """The pipeline's fill, looked up at call time so that tests can substitute it. Its
    result's boxes hold every pixel the fill may have changed: the canvas redraws only those,
    not a 50 MP photo."""
    return pipeline.fill_steps(request)


@dataclass(frozen=True)
class _FillJob(Job):
    doc: Document
    request: pipeline.FillRequest


class FillViewModel(JobViewModel):
    """Fill (one job at a time): ``progress`` while it runs, ``status`` for what it did or why
    it did not start, ``error`` for a failure."""

    finished = Signal()  # a fill result was applied to its document

    def __init__(
        self,
        session: Session,
        mask_editor: MaskEditor,
        methods: MethodCatalog,
        worker: Worker,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(worker, parent)
        self.session, self.methods = session, methods
        self._masks = mask_editor
        self.method = methods.default()
        self.device = "auto"
        self.grain = False  # Fill > Match Film Grain: fills get the surroundings' grain
        # After an accelerator error (out of memory, CUDA failure) model work runs on the CPU.
        self.cpu_fallback = False

    def job_device(self) -> str:
        """The device model work runs on now (raises InpaintError for an unusable choice)."""
        return "cpu" if self.cpu_fallback else resolve_device(self.device)

    def start(self) -> bool:
        """Fill the current mask in the background; False (with a message) if it can't start."""
        doc = self.session.document
        if doc is None or self.busy:
            return False
        if not doc.mask.any():
            text = "Nothing to fill: paint over the damage first."
            if doc.last_fill is not None:
                text += " (Refill Last Region, Shift+F, fills the last filled region again.)"
            self.status.emit(text)
            return False
        why_not = self.methods.why_not(self.method)
        if why_not:
            self.error.emit(f"{self.method} cannot run here: {why_not}")
            return False
        try:
            device = self.job_device()
        except InpaintError as error:
            self.error.emit(str(error))
            return False
        # A snapshot: the user keeps painting into doc.mask while this runs.
        request = make_request(doc.image, doc.mask.copy(), self.method, device, self.grain)
        job = _FillJob(doc, request)
        self._run(
            partial(_fill_steps, request), progress=self.progress.emit,
            done=partial(self._done, job), failed=partial(self._failed, job),
            aborted=self._aborted,
        )  # fmt: skip
        self.progress.emit(0.0, f"Filling with {self.method}...")
        return True

    def refill(self) -> bool:
        """Fill the region of the last fill again (an explicit request: a filled region leaves
        the mask, so F alone never fills it twice). Masking it is an undo step of its own."""
        doc = self.session.document
        if doc is None or self.busy:
            return False
        if doc.last_fill is None:
            self.status.emit("Nothing has been filled in this photo yet.")
            return False
        self._masks.add(doc.last_fill, "Mask the last fill again")
        return self.start()

    def _done(self, job: _FillJob, result: pipeline.FillResult) -> None:
        doc, request = job.doc, job.request
        if doc.image is not request.image or not np.array_equal(doc.mask, request.mask):
            self.status.emit(
                "The mask or photo changed while filling, so that result was dropped. "
                "Press Fill again."
            )
            return
        seconds = job.seconds()
        doc.undo_stack.push(
            FillCommand(self.session, doc, result.image, request.method, result.boxes, request.mask)
        )
        self.status.emit(describe_fill(request, seconds, result.describe()))
        self.finished.emit()

    def _failed(self, job: _FillJob, failure: Failure) -> None:
        text = failure.text
        if failure.device and job.request.device != "cpu":
            self.cpu_fallback = True
            text += f". The {job.request.device} device failed: the next fill runs on the CPU"
        self.error.emit(f"The fill failed: {text}")

    def _aborted(self) -> None:
        self.status.emit("Fill cancelled; the photo is unchanged.")


def describe_fill(request: pipeline.FillRequest, seconds: float, paths: str = "") -> str:
    """What a fill did, for the status bar: how much, with what (the path each region took:
    texture, net, thin-hole biharmonic), how long."""
    pixels = int(np.count_nonzero(request.mask))
    share = pixels / max(1, request.mask.size)
    how = f": {paths}" if paths else ""
    return (
        f"Filled {pixels:,} px ({share:.2%} of the photo) with {request.method} in "
        f"{seconds:.1f} s{how}. The filled region left the mask; undo brings both back."
    )
