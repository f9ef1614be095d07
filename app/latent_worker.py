"""A render thread whose queue holds at most one job per slot: the latest request wins.

Dragging a latent slider asks for a new decode on every mouse move, far more often than a decode
finishes. Queueing them all would make the preview lag ever further behind the pointer; instead a
new request for a slot replaces the one waiting there (``dropped`` counts those), and the thread
always runs the newest. Slots keep unrelated work apart: a gallery job is never dropped because
a slider moved (``preview`` jobs run first, being what the user watches).

Jobs are plain callables that snapshot what they need; results come back as queued signals
tagged with slot and request id, so the GUI thread never waits and can ignore stale results.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.worker import error_message

log = logging.getLogger(__name__)

Job = Callable[[], Any]


class CoalescingRenderer(QObject):
    done = Signal(str, int, object)  # slot, request id, the job's return value
    failed = Signal(str, int, str)  # slot, request id, message for the user
    idle = Signal()  # nothing is running or waiting

    def __init__(self, priority: tuple[str, ...] = ("preview",), parent: QObject | None = None):
        super().__init__(parent)
        self._priority = priority
        self._pending: dict[str, tuple[int, Job]] = {}
        self._wake = threading.Condition()
        self._stop = False
        self._running = False
        self._next_id = 0
        self.submitted = self.ran = self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="latent-render", daemon=True)
        self._thread.start()

    def submit(self, slot: str, job: Job) -> int:
        """Queue ``job`` in ``slot``, replacing a job still waiting there; returns its id."""
        with self._wake:
            self._next_id += 1
            if slot in self._pending:
                self.dropped += 1
            self._pending[slot] = (self._next_id, job)
            self.submitted += 1
            self._wake.notify()
            return self._next_id

    def discard(self, slot: str | None = None) -> None:
        """Forget waiting jobs (of ``slot``, or all); a running job still reports."""
        with self._wake:
            for key in [slot] if slot is not None else list(self._pending):
                self._pending.pop(key, None)

    def busy(self) -> bool:
        with self._wake:
            return self._running or bool(self._pending)

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Drop waiting jobs, let the running one finish, stop the thread."""
        with self._wake:
            self._stop = True
            self._pending.clear()
            self._wake.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _take(self) -> tuple[str, int, Job] | None:
        with self._wake:
            while not self._pending and not self._stop:
                self._running = False
                self._wake.wait()
            if self._stop:
                return None
            slot = next(
                (s for s in self._priority if s in self._pending), next(iter(self._pending))
            )
            request, job = self._pending.pop(slot)
            self._running = True
            return slot, request, job

    def _loop(self) -> None:
        while (taken := self._take()) is not None:
            slot, request, job = taken
            try:
                result = job()
            except Exception as error:  # an engine failure is a message, never a dead thread
                log.exception("latent %s job %d failed", slot, request)
                self._emit(self.failed, slot, request, error_message(error))
            else:
                self.ran += 1
                self._emit(self.done, slot, request, result)
            if not self.busy_after_job():
                self._emit(self.idle)

    def busy_after_job(self) -> bool:
        with self._wake:
            return bool(self._pending)

    def _emit(self, signal: Any, *args: Any) -> None:
        # RuntimeError: the QObject was deleted (window closed) - nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)
