"""View-model of "Detect damage": the background detection, the proposed mask and its slider.

``DetectViewModel`` runs ``core.detect`` on the detect worker from a snapshot of the current
photo, keeps the returned probability and re-thresholds it on every slider move (no re-run).
The proposal is never written into the document: ``accept`` merges it into the mask as one undo
step, ``discard`` drops it. The proposed mask is ``core.detect.fill_mask`` of the detection at
the slider's threshold, the very mask the command line's ``detect`` and ``fill --auto-mask``
use. Each photo keeps its own proposal and sensitivity: going back to a photo finds them as
they were; a photo never detected starts from the default. A result whose photo changed
meanwhile (a fill, an undo of a fill) is stale and dropped. Nothing here draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, Signal

import core.detect as detection
from app.viewmodels.document import Document
from app.viewmodels.fill import FillViewModel
from app.viewmodels.jobs import Job, JobViewModel
from app.viewmodels.masks import MaskEditor
from app.viewmodels.session import Session
from app.worker import Failure, Worker
from core.base.progress import Progress

DEFAULT_SENSITIVITY = 0.5  # the slider's middle: the method's calibrated default threshold
# Photos whose proposal is kept when another one is shown (a 24 MP scan's probability is 96 MB);
# older ones keep their sensitivity and are detected again on demand.
KEPT_PROPOSALS = 4
HINT = (
    "Detect proposes scratches, cracks and dust in cyan. Move Sensitivity to flag more or "
    "less, then Accept to add it to the (red) mask - or Discard."
)


@dataclass(frozen=True)
class Proposal:
    """A finished detection of ``image`` (the document's array at the time, by identity)."""

    doc: Document
    image: np.ndarray
    result: detection.DamageResult
    seconds: float  # how long the detection took

    def threshold(self, sensitivity: float) -> float:
        return detection.threshold_for_sensitivity(sensitivity, self.result.threshold)

    def mask(self, sensitivity: float) -> np.ndarray:
        """The mask Accept adds at ``sensitivity``: the detection's fill mask (grown as
        ``core.detect`` defines it for a fill) at that threshold."""
        threshold = self.threshold(sensitivity)
        mask = detection.threshold_mask(self.result.probability, threshold)
        return detection.fill_mask(dataclasses.replace(self.result, mask=mask, threshold=threshold))


@dataclass
class _PhotoState:
    """What the panel shows for one photo."""

    sensitivity: float = DEFAULT_SENSITIVITY
    proposal: Proposal | None = None
    mask: np.ndarray | None = None  # the proposal's mask at ``sensitivity``


def _detect(image: np.ndarray, method: str) -> Generator[Progress, None, detection.DamageResult]:
    # Looked up at call time so that tests can substitute a slow or counting detector.
    result = yield from detection.detect_steps(image, method=method)
    # The slider re-thresholds the probability; the mask at the default is made again then.
    return dataclasses.replace(result, mask=np.zeros((0, 0), bool))


@dataclass(frozen=True)
class _DetectJob(Job):
    doc: Document
    image: np.ndarray


class DetectViewModel(JobViewModel):
    """Detection (one job at a time; ``busy`` while it runs) and the proposal it leaves."""

    proposal_changed = Signal(object)  # the proposed bool mask (HxW), or None when there is none
    sensitivity_changed = Signal(float)  # another photo brought its own sensitivity
    changed = Signal()  # what can be done now (``can_start``, ``proposal``) may have changed
    cancelling = "Cancelling the detection..."

    def __init__(
        self,
        session: Session,
        mask_editor: MaskEditor,
        fill: FillViewModel,
        worker: Worker,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(worker, parent)
        self.session, self._masks, self._fill = session, mask_editor, fill
        # "auto": the shipped net, or the classical detector when its weights are unusable.
        self.method = "auto"
        self._states: dict[Document, _PhotoState] = {}
        self._state = _PhotoState()  # the current photo's (a throw-away one while none)
        session.document_changed.connect(self._on_document)
        session.image_changed.connect(self._on_image)
        for signal in (session.document_changed, session.loading_changed, fill.busy_changed,
                       self.busy_changed, self.proposal_changed):  # fmt: skip
            signal.connect(lambda *_args: self.changed.emit())

    # -- state -------------------------------------------------------------------------------

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
    def sensitivity(self) -> float:
        return self._state.sensitivity

    @property
    def proposal(self) -> Proposal | None:
        return self._state.proposal

    @property
    def proposed_mask(self) -> np.ndarray | None:
        """The mask Accept would add at the current sensitivity (already grown)."""
        return self._state.mask

    @property
    def note(self) -> str:
        """Why "auto" fell back to the classical detector, else empty."""
        proposal = self._state.proposal
        return "" if proposal is None else proposal.result.note

    # -- commands ----------------------------------------------------------------------------

    def start(self) -> bool:
        """Detect damage in the current photo in the background; False if it can't start."""
        doc = self.session.document
        if doc is None or self.busy or self.session.loading:
            return False
        self._set_proposal(None)
        image = doc.image  # replaced, never written in place: the reference is the snapshot
        job = _DetectJob(doc, image)
        self._run(
            partial(_detect, image, self.method), progress=self.progress.emit,
            done=partial(self._done, job), failed=self._failed, aborted=partial(self._aborted, job),
        )  # fmt: skip
        self.progress.emit(0.0, "Detecting damage...")
        return True

    def set_sensitivity(self, sensitivity: float) -> None:
        """Re-threshold the cached probability: the detector does not run again."""
        state = self._state
        state.sensitivity = float(np.clip(sensitivity, 0.0, 1.0))
        if state.proposal is not None:
            state.mask = state.proposal.mask(state.sensitivity)
            self.proposal_changed.emit(state.mask)
            self.status.emit(self._describe())

    def accept(self) -> bool:
        """Merge the proposal into the document's mask as one undo step."""
        proposal, mask = self._state.proposal, self._state.mask
        if proposal is None or mask is None or proposal.doc is not self.session.document:
            return False
        self._set_proposal(None)
        if not self._masks.add(mask, "Accept detected damage"):
            self.status.emit("The proposal adds nothing to the mask.")
            return False
        self.status.emit(
            f"Detected damage ({mask.mean():.2%} of the photo) added to the mask: edit it, "
            "then Fill (F)."
        )
        return True

    def discard(self) -> None:
        if self._state.proposal is not None:
            self._set_proposal(None)
            self.status.emit("Proposal discarded; the mask is unchanged.")

    # -- internals ---------------------------------------------------------------------------

    def _set_proposal(self, proposal: Proposal | None) -> None:
        state = self._state
        if proposal is None and state.proposal is None:
            return
        state.proposal = proposal
        state.mask = None if proposal is None else proposal.mask(state.sensitivity)
        self.proposal_changed.emit(state.mask)

    def _describe(self) -> str:
        proposal, mask = self._state.proposal, self._state.mask
        if proposal is None or mask is None:
            return ""
        threshold = proposal.threshold(self._state.sensitivity)
        text = (
            f"Found {mask.mean():.2%} of the photo as damage ({proposal.result.method} "
            f"detector, threshold {threshold:.2f}) in {proposal.seconds:.1f} s."
        )
        # The full reason (a path, a checksum) is the panel's tooltip; one line is enough here.
        return f"{text}\nThe damage net is unavailable (hover for why)." if self.note else text

    def describe_photo(self) -> str:
        """The panel's text for the photo on screen."""
        doc = self.session.document
        if doc is None:
            return HINT
        if self._state.proposal is not None:
            return self._describe()
        return f"{doc.title}: not detected yet. {HINT}"

    def _on_document(self) -> None:
        # A detection of a photo no longer shown is wasted; each photo keeps its own state.
        self.cancel()
        doc = self.session.document
        if doc is None:
            self._state = _PhotoState()
        else:
            # Most recently shown last: the proposals of the photos shown longest ago go first.
            self._state = self._states.pop(doc, None) or _PhotoState()
            self._states[doc] = self._state
            holding = [state for state in self._states.values() if state.proposal is not None]
            for state in holding[: max(0, len(holding) - KEPT_PROPOSALS)]:
                state.proposal = state.mask = None
        proposal = self._state.proposal
        if proposal is not None and (doc is None or proposal.image is not doc.image):
            self._state.proposal = self._state.mask = None  # the photo was filled meanwhile
        self.sensitivity_changed.emit(self._state.sensitivity)
        self.proposal_changed.emit(self._state.mask)
        self.status.emit(self.describe_photo())

    def _on_image(self) -> None:
        proposal, doc = self._state.proposal, self.session.document
        if proposal is not None and (doc is not proposal.doc or doc.image is not proposal.image):
            self._set_proposal(None)
            self.status.emit("The photo changed, so the proposal was dropped. Detect again.")
        elif proposal is None and doc is not None:
            # Whatever the panel said last (e.g. "added to the mask: ... then Fill") is over.
            self.status.emit(f"{doc.title} changed: Detect (D) looks for what is left.")

    def _done(self, job: _DetectJob, result: detection.DamageResult) -> None:
        doc = self.session.document
        if doc is not job.doc or doc.image is not job.image:
            self.status.emit("The photo changed while detecting, so that result was dropped.")
            return
        self._set_proposal(Proposal(job.doc, job.image, result, job.seconds()))
        self.status.emit(self._describe())

    def _failed(self, failure: Failure) -> None:
        self.error.emit(f"Damage detection failed: {failure.text}")

    def _aborted(self, job: _DetectJob) -> None:
        current = job.doc is self.session.document
        self.status.emit("Detection cancelled." if current else self.describe_photo())
