"""Runs an engine generator (``core``'s ``Steps``) on a background thread.

Each ``yield`` of the generator is a progress event and a cancel point: ``cancel()`` sets a flag
that the thread checks between yields, then it closes the generator and stops. Results come back
to the GUI thread as queued Qt signals tagged with the job id, so a listener can tell a late
signal of an old job from the current one. ``JobSlot`` does that telling for a view-model that
runs one job at a time. Nothing here touches widgets or the document.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

from core.device import is_device_error
from core.errors import InpaintError
from core.progress import Progress

log = logging.getLogger(__name__)

# Progress signals closer together than this are dropped (the last one always goes through).
PROGRESS_INTERVAL_S = 0.03

StepsFactory = Callable[[], Generator[Progress, None, Any]]


def error_message(error: BaseException) -> str:
    """The text to show the user: engine errors are written for them; others get their type."""
    if isinstance(error, InpaintError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class GeneratorRunner(QObject):
    """One job at a time. Signals, in order: ``progressed``*, then one of ``returned`` /
    ``errored`` / ``aborted``, then ``finished`` once the thread is done with the job."""

    progressed = Signal(int, float, str)  # job id, fraction, message
    returned = Signal(int, object)  # job id, generator's return value
    errored = Signal(int, str)  # job id, message for the user
    device_failed = Signal(int)  # job id: the error came from the accelerator (sent before errored)
    aborted = Signal(int)  # job id
    finished = Signal(int)  # job id

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._next_id = 0

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, make_steps: StepsFactory) -> int:
        """Start a job and return its id; the previous job must have reported its end."""
        if self._thread is not None:
            # A job that reported its end may still be leaving its thread: let it go first.
            self._thread.join(1.0)
        if self.is_running():
            raise RuntimeError("a job is already running")
        self._next_id += 1
        self._cancel = threading.Event()  # a fresh flag, so a late cancel can't hit the new job
        self._thread = threading.Thread(
            target=self._run,
            args=(self._next_id, make_steps, self._cancel),
            name=f"fill-job-{self._next_id}",
            daemon=True,  # never keeps the interpreter alive; shutdown() joins it anyway
        )
        self._thread.start()
        return self._next_id

    def cancel(self) -> None:
        self._cancel.set()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel and wait for the thread; True when no thread is left running."""
        self.cancel()
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.is_running()

    def _emit(self, signal: Any, *args: Any) -> None:
        # RuntimeError: the QObject was deleted under us (window closed) - nobody listens.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)

    def _run(self, job: int, make_steps: StepsFactory, cancel: threading.Event) -> None:
        try:
            self._drive(job, make_steps, cancel)
        finally:
            self._emit(self.finished, job)

    def _drive(self, job: int, make_steps: StepsFactory, cancel: threading.Event) -> None:
        last = 0.0
        try:
            steps = make_steps()
            while True:
                if cancel.is_set():
                    steps.close()  # runs the generator's finally blocks
                    self._emit(self.aborted, job)
                    return
                try:
                    event = next(steps)
                except StopIteration as stop:
                    break_value = stop.value
                    break
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL_S or event.fraction >= 1.0:
                    last = now
                    self._emit(self.progressed, job, float(event.fraction), event.message)
        except Exception as error:  # the engine's errors become a message, never a crash
            if not isinstance(error, InpaintError):
                log.exception("fill job %d failed", job)
            if is_device_error(error):
                self._emit(self.device_failed, job)
            self._emit(self.errored, job, error_message(error))
            return
        if cancel.is_set():  # cancelled during the last step: the result is not wanted
            self._emit(self.aborted, job)
            return
        self._emit(self.returned, job, break_value)


@dataclass
class Job:
    """The record of a ``JobSlot``'s job; subclass it to keep what handling the result needs."""

    # Keyword-only, so subclasses can add fields without defaults.
    id: int = field(default=0, kw_only=True)  # the runner's job id, set by JobSlot.start
    cancelled: bool = field(default=False, kw_only=True)  # its result is no longer wanted


J = TypeVar("J", bound=Job)


class JobSlot(QObject, Generic[J]):
    """A ``GeneratorRunner`` and the record of its current job: at most one at a time.

    The runner's signals come back filtered: those of any other job (a late signal of a job
    that was shut down) are dropped, as is progress of a cancelled job, and a result that lands
    after a cancel is reported as ``aborted``. The job has ended (``current`` is None,
    ``busy_changed(False)`` sent) before ``returned`` / ``errored`` / ``aborted`` arrive, so
    their listeners see the slot idle and may start the next job.
    """

    busy_changed = Signal(bool)
    progressed = Signal(float, str)  # fraction, message; of the current job only
    returned = Signal(object, object)  # the ended Job, the generator's return value
    errored = Signal(object, str)  # the ended Job, message for the user
    device_failed = Signal(object)  # the Job, still current: ``errored`` follows
    aborted = Signal(object)  # the ended Job

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = GeneratorRunner(self)
        self._job: J | None = None
        self.runner.progressed.connect(self._on_progressed)
        self.runner.returned.connect(self._on_returned)
        self.runner.errored.connect(self._on_errored)
        self.runner.device_failed.connect(self._on_device_failed)
        self.runner.aborted.connect(self._on_aborted)

    @property
    def current(self) -> J | None:
        return self._job

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start(self, job: J, make_steps: StepsFactory) -> J:
        """Run ``make_steps()`` in the background as ``job``; ``busy_changed(True)`` follows."""
        if self._job is not None:
            raise RuntimeError("a job is already running")
        job.id = self.runner.start(make_steps)
        self._job = job
        self.busy_changed.emit(True)
        return job

    def cancel(self) -> bool:
        """Ask the current job to stop; True if that was news (a job runs, not yet cancelled)."""
        job = self._job
        if job is None or job.cancelled:
            return False
        job.cancelled = True
        self.runner.cancel()
        return True

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop the job and wait for its thread; the job ends here, whatever the thread does
        later is dropped. True when no thread is left running."""
        if self._job is not None:
            self._job.cancelled = True
        stopped = self.runner.shutdown(timeout_s)
        self._end()
        return stopped

    def _end(self) -> None:
        if self._job is not None:
            self._job = None
            self.busy_changed.emit(False)

    def _take(self, job_id: int) -> J | None:
        """The current job if ``job_id`` is its id, ended; None for a stale signal."""
        job = self._job
        if job is None or job.id != job_id:
            return None
        self._end()
        return job

    def _on_progressed(self, job_id: int, fraction: float, text: str) -> None:
        job = self._job
        if job is not None and job.id == job_id and not job.cancelled:
            self.progressed.emit(fraction, text)

    def _on_device_failed(self, job_id: int) -> None:
        job = self._job
        if job is not None and job.id == job_id:
            self.device_failed.emit(job)

    def _on_returned(self, job_id: int, value: object) -> None:
        job = self._take(job_id)
        if job is not None:
            if job.cancelled:  # finished just as the user cancelled: not wanted
                self.aborted.emit(job)
            else:
                self.returned.emit(job, value)

    def _on_errored(self, job_id: int, text: str) -> None:
        job = self._take(job_id)
        if job is not None:
            self.errored.emit(job, text)

    def _on_aborted(self, job_id: int) -> None:
        job = self._take(job_id)
        if job is not None:
            self.aborted.emit(job)
