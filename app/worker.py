"""Runs an engine generator (``core``'s ``Steps``) on a background thread.

Each ``yield`` of the generator is a progress event and a cancel point: ``cancel()`` sets a flag
that the thread checks between yields, then it closes the generator and stops. Results come back
to the GUI thread as queued Qt signals tagged with the job id, so a listener can tell a late
signal of an old job from the current one. Nothing here touches widgets or the document.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

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
