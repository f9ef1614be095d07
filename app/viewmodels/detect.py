"""View-model of "Detect damage": the background detection, the proposed mask and its slider.

``DetectViewModel`` runs ``core.detect`` on the detect worker from a snapshot of the current
photo, keeps the returned probability and re-thresholds it on every slider move (no
re-run). The proposal is never written into the document: ``accept`` merges it into the mask as
one undo step, ``discard`` drops it. A result whose photo changed meanwhile (another document,
a fill, an undo of a fill) is stale and dropped. Widgets bind to the signals; nothing here draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

import core.detect as detection
from app.viewmodels.document import Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.session import Session
from app.worker import Failure, Task, Worker
from core.progress import Progress

DEFAULT_SENSITIVITY = 0.5  # the slider's middle: the method's calibrated default threshold


@dataclass(frozen=True)
class Proposal:
    """A finished detection of ``image`` (the document's array at the time, by identity).

    ``grown`` is the probability max-filtered over a disk of ``FILL_GROW`` px: thresholding it
    gives the detected mask already grown as a fill needs it (a mark's blurred fringe is damage
    too), so the slider costs one comparison and no morphology.
    """

    doc: Document
    image: np.ndarray
    result: detection.DamageResult  # its probability and mask dropped: ``grown`` replaces them
    grown: np.ndarray

    def mask(self, sensitivity: float) -> np.ndarray:
        threshold = detection.threshold_for_sensitivity(sensitivity, self.result.threshold)
        return detection.threshold_mask(self.grown, threshold)


def grow_probability(probability: np.ndarray, pixels: int) -> np.ndarray:
    """Max of ``probability`` over a disk of radius ``pixels``: ``grown >= t`` equals the mask
    ``probability >= t`` dilated by that disk, for every ``t``."""
    if pixels <= 0:
        return probability
    size = 2 * pixels + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(probability, disk, borderType=cv2.BORDER_REPLICATE)


def _detect_and_grow(
    image: np.ndarray, method: str
) -> Generator[Progress, None, tuple[detection.DamageResult, np.ndarray]]:
    # Looked up at call time so that tests can substitute a slow or counting detector.
    result = yield from detection.detect_steps(image, method=method)
    yield Progress(1.0, "preparing the proposal")
    grown = grow_probability(result.probability, detection.FILL_GROW)
    # Keep only what the slider needs: on a 24 MP scan each full-size array is ~100 MB.
    empty = np.zeros((0, 0), np.float32)
    return dataclasses.replace(result, probability=empty, mask=empty.astype(bool)), grown


@dataclass
class _DetectJob:
    doc: Document
    image: np.ndarray
    task: Task | None = None


class DetectViewModel(QObject):
    busy_changed = Signal(bool)  # a detection is running
    progress = Signal(float, str)
    proposal_changed = Signal(object)  # the proposed bool mask (HxW), or None when there is none
    status = Signal(str)  # a passing note for the panel and the status bar
    error = Signal(str)  # the detection failed; nothing changed
    changed = Signal()  # what can be done now (``can_start``, ``proposal``) may have changed

    def __init__(
        self,
        session: Session,
        mask_editor: MaskEditor,
        fill: FillViewModel,
        worker: Worker,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self._masks, self._fill, self._worker = session, mask_editor, fill, worker
        # "auto": the shipped net, or the classical detector when its weights are unusable.
        self.method = "auto"
        self.sensitivity = DEFAULT_SENSITIVITY
        self._proposal: Proposal | None = None
        self._mask: np.ndarray | None = None
        self._job: _DetectJob | None = None
        session.document_changed.connect(self._on_document)
        session.image_changed.connect(self._on_image)
        for signal in (session.document_changed, session.loading_changed, fill.busy_changed,
                       self.busy_changed, self.proposal_changed):  # fmt: skip
            signal.connect(lambda *_args: self.changed.emit())

    # -- state -------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def can_start(self) -> bool:
        """A photo is shown and nothing would make the proposal stale at once: not while a fill
        runs (its result replaces the photo) nor while a photo is opening."""
        return (
            self.session.document is not None
            and not self.busy
            and not self._fill.busy
            and not self.session.loading
        )

    @property
    def proposal(self) -> Proposal | None:
        return self._proposal

    @property
    def proposed_mask(self) -> np.ndarray | None:
        """The mask Accept would add at the current sensitivity (already grown)."""
        return self._mask

    # -- commands ----------------------------------------------------------------------------

    def start(self) -> bool:
        """Detect damage in the current photo in the background; False if it can't start."""
        doc = self.session.document
        if doc is None or self.busy or self.session.loading:
            return False
        self._set_proposal(None)
        image = doc.image  # replaced, never written in place: the reference is the snapshot
        job = _DetectJob(doc, image)
        method = self.method
        job.task = self._worker.submit(
            lambda: _detect_and_grow(image, method),
            on_progress=self.progress.emit,
            on_done=lambda outcome: self._done(job, outcome),
            on_error=lambda failure: self._failed(job, failure),
            on_abort=lambda: self._aborted(job),
        )
        self._job = job
        self.busy_changed.emit(True)
        self.progress.emit(0.0, "Detecting damage...")
        return True

    def cancel(self) -> None:
        if self._job is not None and self._job.task is not None and self._job.task.cancel():
            self.progress.emit(0.0, "Cancelling the detection...")

    def set_sensitivity(self, sensitivity: float) -> None:
        """Re-threshold the cached probability: instant, the detector does not run again."""
        self.sensitivity = float(np.clip(sensitivity, 0.0, 1.0))
        if self._proposal is not None:
            self._mask = self._proposal.mask(self.sensitivity)
            self.proposal_changed.emit(self._mask)
            self.status.emit(self._describe())

    def accept(self) -> bool:
        """Merge the proposal into the document's mask as one undo step."""
        proposal, mask = self._proposal, self._mask
        if proposal is None or mask is None or proposal.doc is not self.session.document:
            return False
        self._set_proposal(None)
        if not self._masks.add(mask, "Accept detected damage"):
            self.status.emit("The proposal adds nothing to the mask.")
            return False
        self.status.emit("Detected damage added to the mask: edit it, then Fill (F).")
        return True

    def discard(self) -> None:
        if self._proposal is not None:
            self._set_proposal(None)
            self.status.emit("Proposal discarded; the mask is unchanged.")

    # -- internals ---------------------------------------------------------------------------

    def _set_proposal(self, proposal: Proposal | None) -> None:
        if proposal is None and self._proposal is None:
            return
        self._proposal = proposal
        self._mask = None if proposal is None else proposal.mask(self.sensitivity)
        self.proposal_changed.emit(self._mask)

    def _describe(self) -> str:
        proposal, mask = self._proposal, self._mask
        if proposal is None or mask is None:
            return ""
        text = f"{mask.mean():.2%} of the photo proposed ({proposal.result.method} detector)."
        # The full reason (a path, a checksum) is the panel's tooltip; one line is enough here.
        return f"{text}\nThe damage net is unavailable (hover for why)." if self.note else text

    @property
    def note(self) -> str:
        """Why "auto" fell back to the classical detector, else empty."""
        return "" if self._proposal is None else self._proposal.result.note

    def _on_document(self) -> None:
        # A proposal belongs to one photo; a detection of a photo no longer shown is wasted.
        self.cancel()
        self._set_proposal(None)

    def _on_image(self) -> None:
        proposal, doc = self._proposal, self.session.document
        if proposal is not None and (doc is not proposal.doc or doc.image is not proposal.image):
            self._set_proposal(None)
            self.status.emit("The photo changed, so the proposal was dropped. Detect again.")

    def _end(self, job: _DetectJob) -> bool:
        """End ``job``; False when it is not the current one (the window was closing)."""
        if self._job is not job:
            return False
        self._job = None
        self.busy_changed.emit(False)
        return True

    def _done(self, job: _DetectJob, outcome: tuple[detection.DamageResult, np.ndarray]) -> None:
        if not self._end(job):
            return
        doc = self.session.document
        if doc is not job.doc or doc.image is not job.image:
            self.status.emit("The photo changed while detecting, so that result was dropped.")
            return
        result, grown = outcome
        self._set_proposal(Proposal(job.doc, job.image, result, grown))
        self.status.emit(self._describe())

    def _failed(self, job: _DetectJob, failure: Failure) -> None:
        if self._end(job):
            self.error.emit(f"Damage detection failed: {failure.text}")

    def _aborted(self, job: _DetectJob) -> None:
        if self._end(job):
            self.status.emit("Detection cancelled.")
