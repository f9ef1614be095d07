"""The one way the editor runs work off the GUI thread: a ``Worker`` (a thread and its queue).

Work is a *steps factory*: a callable returning a generator that yields ``core.progress.Progress``
(core's long-work protocol); each ``yield`` is a progress event and a cancel point, and the
generator's return value is the result. ``call`` turns a plain function into steps.

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
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from core.device import is_device_error
from core.errors import InpaintError
from core.progress import Progress

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
        self.submitted = self.dropped = 0
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
            self.submitted += 1
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


# -- the runners in use until the view-models move onto Worker ------------------------------


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
