"""The editor's one job model: what a view-model that runs work on a worker has.

A ``JobViewModel`` submits its work (steps, ``app.worker``) through ``_run`` and so knows its
open tasks: it is ``busy`` while one has not ended, says when that flips (``busy_changed``),
reports ``progress`` (fraction, text), passing notes (``status``) and failures the user must
see (``error``), and ``cancel`` stops its work. A task's outcome reaches the handler given to
``_run`` after the task has ended here, so the handler sees ``busy`` as it now is and may start
the next job. Fill and Detect run one job at a time (``Job`` is the snapshot it started from);
Layout and the latent fill run several (previews superseding each other by key, variants side
by side). Nothing here draws or touches a document.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.worker import Failure, StepsFactory, Task, Worker


@dataclass(frozen=True, kw_only=True)
class Job:
    """What one run started from (a subclass adds the snapshot), and when it started."""

    started: float = field(default_factory=time.monotonic)

    def seconds(self) -> float:
        """How long it has been running."""
        return time.monotonic() - self.started


class JobViewModel(QObject):
    """Busy, progress, status, error and cancel for the work a view-model runs on ``worker``."""

    busy_changed = Signal(bool)  # a task of this view-model is open (True), or none is (False)
    progress = Signal(float, str)  # fraction done, what is being done
    status = Signal(str)  # a passing note for the panel and the status bar
    error = Signal(str)  # a job failed: something the user must see; nothing changed

    cancelling = "Cancelling..."  # what ``progress`` says once ``cancel`` stopped something

    def __init__(self, worker: Worker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._open_tasks: list[Task] = []  # submitted here and not yet ended
        self._submitting_task = False

    @property
    def worker(self) -> Worker:
        return self._worker

    @property
    def busy(self) -> bool:
        """Whether a task submitted here has not ended (running, waiting, or its outcome on
        the way)."""
        return any(not task.ended for task in self._open_tasks)

    def cancel(self) -> bool:
        """Ask every open task to stop; True when one had not been asked yet (``progress``
        then says so). A waiting task ends at once, a running one at its next cancel point."""
        stopped = False
        for task in list(self._open_tasks):
            stopped = task.cancel() or stopped
        if stopped:
            self.progress.emit(0.0, self.cancelling)
        return stopped

    def _run(
        self,
        steps: StepsFactory,
        *,
        done: Callable[[Any], object],
        failed: Callable[[Failure], object] | None = None,
        aborted: Callable[[], object] | None = None,
        progress: Callable[[float, str], object] | None = None,
        key: str | None = None,
        priority: int = 0,
    ) -> Task:
        """Submit ``steps`` (``key`` and ``priority`` as in ``Worker.submit``). ``progress``
        gets the task's progress events; then exactly one of ``done(value)``,
        ``failed(Failure)`` or ``aborted()`` runs, once the task has ended here."""
        was_busy = self.busy
        self._submitting_task = True  # a task this one supersedes ends inside submit: still busy
        try:
            task = self._worker.submit(
                steps, key=key, priority=priority, on_progress=progress,
                on_done=partial(self._ended, done), on_error=partial(self._ended, failed),
                on_abort=partial(self._ended, aborted),
            )  # fmt: skip
        finally:
            self._submitting_task = False
        self._open_tasks.append(task)
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _ended(self, handler: Callable[..., object] | None, *outcome: object) -> None:
        # The worker marks a task ended before its callback runs.
        self._open_tasks = [task for task in self._open_tasks if not task.ended]
        if not self._open_tasks and not self._submitting_task:
            self.busy_changed.emit(False)
        if handler is not None:
            handler(*outcome)
