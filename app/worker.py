"""The one way the editor runs work off the GUI thread: a ``Worker`` (a thread and its queue).

Work is a *steps factory*: a callable returning a generator that yields
``core.base.progress.Progress`` (core's long-work protocol); each ``yield`` is a progress event
and a cancel point, and the generator's return value is the result. ``call`` turns a plain
function into steps.

``submit`` queues a task and returns its ``Task`` handle. Tasks run one at a time, the highest
``priority`` first, else in submission order. A task submitted with a ``key`` supersedes a task
with the same key that is still waiting (coalescing: a slider asks for a render on every move,
and only the newest is worth running). Everything the task reports comes back to the GUI thread
through one queued signal, and reaches the task's callbacks there, in order: ``on_progress``*,
then exactly one of ``on_done(value)``, ``on_error(Failure)`` or ``on_abort()`` (cancelled,
superseded, or cancelled just as it finished). The task has ended (``Task.ended``) before that
last callback runs, so the callback may submit the next one. Nothing here touches widgets or
documents; the view-models snapshot what a task needs before submitting it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from core.base.device import is_device_error
from core.base.errors import InpaintError
from core.base.progress import Progress

log = logging.getLogger(__name__)

# Progress events closer together than this are dropped (one reaching 1.0 always goes through).
PROGRESS_INTERVAL_S = 0.03
THREAD_PREFIX = "worker-"  # every worker thread's name starts so (tests look for leftovers)

Steps = Generator[Progress, None, Any]
StepsFactory = Callable[[], Steps]
T = TypeVar("T")


def call(work: Callable[[], T]) -> Callable[[], Generator[Progress, None, T]]:
    """``work`` as steps: no progress and no cancel point until it returns."""

    def steps() -> Generator[Progress, None, T]:
        yield from ()
        return work()

    return steps


def error_message(error: BaseException) -> str:
    """The text to show the user: engine errors are written for them; others get their type."""
    if isinstance(error, InpaintError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


@dataclass(frozen=True)
class Failure:
    """Why a task failed: ``text`` for the user; ``device`` when the accelerator failed (out of
    memory, a CUDA error), so that the caller can fall back to the CPU."""

    text: str
    device: bool = False


class Task:
    """A handle on submitted work; used on the GUI thread only (the worker thread reads only
    ``steps`` and the cancel flag)."""

    def __init__(
        self,
        worker: Worker,
        steps: StepsFactory,
        key: str | None,
        priority: int,
        callbacks: dict[str, Callable[..., object] | None],
    ) -> None:
        self.worker, self.steps, self.key, self.priority = worker, steps, key, priority
        self.callbacks = callbacks
        self.ended = False
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> bool:
        """Ask the task to stop; True if that was news (it had not ended nor been cancelled).
        A waiting task ends at once; a running one at its next yield."""
        if self.ended or self._cancel.is_set():
            return False
        self._cancel.set()
        self.worker._withdraw(self)
        return True


class Worker(QObject):
    """A background thread (started on the first ``submit``) running queued tasks one at a time."""

    _report = Signal(object, str, object)  # Task, kind, payload: emitted on the worker thread
    idle = Signal()  # the last open task ended

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._lock = threading.Condition()
        self._waiting: list[Task] = []
        self._thread: threading.Thread | None = None
        self._generation = 0  # bumped by shutdown: a thread of an older generation leaves
        self._open: list[Task] = []  # submitted and not yet ended (GUI thread only)
        self.dropped = 0  # tasks superseded while waiting
        # Queued: the payload crosses to the thread this object lives in, the GUI thread.
        self._report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- the GUI thread's side -----------------------------------------------------------------

    def submit(
        self,
        steps: StepsFactory,
        *,
        key: str | None = None,
        priority: int = 0,
        on_progress: Callable[[float, str], object] | None = None,
        on_done: Callable[[Any], object] | None = None,
        on_error: Callable[[Failure], object] | None = None,
        on_abort: Callable[[], object] | None = None,
    ) -> Task:
        """Queue ``steps``; a waiting task with the same ``key`` is superseded (aborted)."""
        callbacks = {"progress": on_progress, "returned": on_done, "errored": on_error,
                     "aborted": on_abort}  # fmt: skip
        task = Task(self, steps, key, priority, callbacks)
        with self._lock:
            superseded = [t for t in self._waiting if key is not None and t.key == key]
            self._waiting = [t for t in self._waiting if t not in superseded]
            self._waiting.append(task)
            self.dropped += len(superseded)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, args=(self._generation,), daemon=True,
                    name=f"{THREAD_PREFIX}{self.name}",
                )  # fmt: skip
                self._thread.start()
            self._lock.notify()
        self._open.append(task)
        for old in superseded:
            self._end(old, "aborted", None)
        return task

    def busy(self) -> bool:
        """Whether a task has not ended yet (running, waiting, or its outcome on the way)."""
        return bool(self._open)

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel everything and wait for the thread; True when no thread is left running.
        Open tasks end here without callbacks (the window is going away); a later ``submit``
        starts a fresh thread."""
        return self.join(self.stop(), timeout_s)

    def stop(self) -> threading.Thread | None:
        """``shutdown`` without the wait: returns the thread to ``join``."""
        with self._lock:
            self._generation += 1
            for task in self._waiting:
                task._cancel.set()
            self._waiting.clear()
            thread, self._thread = self._thread, None
            self._lock.notify_all()
        for task in self._open:
            task._cancel.set()
            task.ended = True
        self._open.clear()
        return thread

    @staticmethod
    def join(thread: threading.Thread | None, timeout_s: float) -> bool:
        if thread is not None:
            thread.join(timeout_s)
        return thread is None or not thread.is_alive()

    def _withdraw(self, task: Task) -> None:
        with self._lock:
            waiting = task in self._waiting
            if waiting:
                self._waiting.remove(task)
        if waiting:
            self._end(task, "aborted", None)

    def _deliver(self, task: Task, kind: str, payload: object) -> None:
        if task.ended:
            return  # shut down, or a late report of a task that already ended
        if kind == "progress":
            callback = task.callbacks["progress"]
            if callback is not None and not task.cancelled and isinstance(payload, tuple):
                callback(*payload)
            return
        if kind == "returned" and task.cancelled:
            kind = "aborted"  # finished just as the user cancelled: not wanted
        self._end(task, kind, payload)

    def _end(self, task: Task, kind: str, payload: object) -> None:
        task.ended = True
        if task in self._open:
            self._open.remove(task)
        callback = task.callbacks[kind]
        if callback is not None:
            callback() if kind == "aborted" else callback(payload)
        if not self._open:
            self.idle.emit()

    # -- the worker thread's side --------------------------------------------------------------

    def _take(self, generation: int) -> Task | None:
        with self._lock:
            while not self._waiting and generation == self._generation:
                self._lock.wait()
            if generation != self._generation:
                return None
            task = max(self._waiting, key=lambda t: t.priority)  # the first of the highest
            self._waiting.remove(task)
            return task

    def _loop(self, generation: int) -> None:
        while (task := self._take(generation)) is not None:
            kind, payload = self._drive(task)
            self._emit(task, kind, payload)

    def _drive(self, task: Task) -> tuple[str, object]:
        last = 0.0
        try:
            steps = task.steps()
            while True:
                if task.cancelled:
                    steps.close()  # runs the generator's finally blocks
                    return "aborted", None
                try:
                    event = next(steps)
                except StopIteration as stop:
                    value = stop.value
                    break
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL_S or event.fraction >= 1.0:
                    last = now
                    self._emit(task, "progress", (float(event.fraction), event.message))
        except Exception as error:  # the engine's errors become a message, never a crash
            if not isinstance(error, InpaintError):
                log.exception("%s task failed", self.name)
            return "errored", Failure(error_message(error), is_device_error(error))
        return ("aborted", None) if task.cancelled else ("returned", value)

    def _emit(self, task: Task, kind: str, payload: object) -> None:
        # RuntimeError: this QObject was deleted under us (window closed) - nobody listens.
        with contextlib.suppress(RuntimeError):
            self._report.emit(task, kind, payload)


class Workers(QObject):
    """The editor's workers, one thread each: ``model`` runs fills and latent renders (they
    share the loaded networks, which are not thread-safe, so they take turns), ``detect`` the
    damage detector, ``files`` reading photos and writing autosaves."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = Worker("model", self)
        self.detect = Worker("detect", self)
        self.files = Worker("files", self)

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        # Every worker is told first, so that they stop in parallel.
        threads = [w.stop() for w in (self.model, self.detect, self.files)]
        return all([Worker.join(thread, timeout_s) for thread in threads])
