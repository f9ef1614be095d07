"""Worker: tasks run off the GUI thread one at a time; their callbacks come back on the GUI
thread in a fixed order; cancel, errors, coalescing, priority and shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.worker import THREAD_PREFIX, Failure, Task, Worker, call
from core.base.errors import InpaintError
from core.base.progress import Progress


class _Recorder:
    """Every callback of the tasks submitted through it, in order, with whether the task had
    already ended when its outcome arrived, and on which thread each ran."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.events: list[tuple[Any, ...]] = []
        self.ended_at_outcome: list[bool] = []
        self.threads: set[int] = set()

    def submit(self, name: str, steps: Any, **options: Any) -> Task:
        task: Task | None = None

        def outcome(*event: Any) -> None:
            self.threads.add(threading.get_ident())
            self.ended_at_outcome.append(task is not None and task.ended)
            self.events.append(event)

        task = self.worker.submit(
            steps,
            on_progress=lambda f, text: self.events.append((name, "progress", f, text)),
            on_done=lambda value: outcome(name, "done", value),
            on_error=lambda failure: outcome(name, "error", failure),
            on_abort=lambda: outcome(name, "abort"),
            **options,
        )
        return task

    def kinds(self) -> list[str]:
        return [event[1] for event in self.events]


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = Worker("test")
    yield w
    assert w.shutdown(5.0), "a worker thread outlived the test"
    assert not [t for t in threading.enumerate() if t.name == f"{THREAD_PREFIX}test"]


def _blocked(gate: threading.Event, value: object = "done") -> Generator[Progress, None, object]:
    """Waits for ``gate`` before its first step: nothing is sent until the test says so."""
    gate.wait(10.0)
    yield Progress(1.0, "released")
    return value


def _until_cancelled() -> Generator[Progress, None, object]:
    """Yields (a cancel point) until it is stopped."""
    for _ in range(2000):
        yield Progress(0.1, "working")
        time.sleep(0.005)
    return "never cancelled"


def test_result_arrives_on_the_gui_thread_after_the_task_ended(
    qtbot: QtBot, worker: Worker
) -> None:
    rec = _Recorder(worker)
    ran_on: list[int] = []

    def steps() -> Generator[Progress, None, int]:
        ran_on.append(threading.get_ident())
        yield Progress(0.5, "half")
        yield Progress(1.0, "all")
        return 42

    task = rec.submit("a", steps)
    assert worker.busy() and not task.ended
    with qtbot.waitSignal(worker.idle, timeout=5000):
        pass
    assert rec.events == [("a", "progress", 0.5, "half"), ("a", "progress", 1.0, "all"),
                          ("a", "done", 42)]  # fmt: skip
    assert rec.ended_at_outcome == [True]  # a callback may submit the next task right away
    assert rec.threads == {threading.get_ident()} and ran_on[0] != threading.get_ident()
    assert not worker.busy()


def test_cancel_ends_on_the_aborted_path(qtbot: QtBot, worker: Worker) -> None:
    rec = _Recorder(worker)
    task = rec.submit("a", _until_cancelled)
    qtbot.waitUntil(lambda: "progress" in rec.kinds(), timeout=5000)
    assert task.cancel() is True
    assert task.cancel() is False  # already asked: the caller shows "Cancelling..." once
    assert task.cancelled and not task.ended  # it ends when the thread says it stopped
    seen = len(rec.events)
    worker._report.emit(task, "progress", (0.9, "after cancel"))  # not reported any more
    qtbot.waitUntil(lambda: "abort" in rec.kinds(), timeout=5000)
    qtbot.wait(20)  # anything the thread sent last is delivered, and must have been dropped
    assert rec.events[seen:] == [("a", "abort")] and task.ended
    assert task.cancel() is False  # nothing left to cancel


def test_a_waiting_task_cancelled_ends_at_once(qtbot: QtBot, worker: Worker) -> None:
    rec = _Recorder(worker)
    gate = threading.Event()
    first = rec.submit("first", lambda: _blocked(gate))
    second = rec.submit("second", lambda: _blocked(gate))
    assert second.cancel() and second.ended
    assert rec.events == [("second", "abort")]
    gate.set()
    qtbot.waitUntil(lambda: first.ended, timeout=5000)
    assert rec.kinds() == ["abort", "progress", "done"]


def test_a_result_landing_after_cancel_counts_as_aborted(qtbot: QtBot, worker: Worker) -> None:
    rec = _Recorder(worker)
    gate = threading.Event()
    task = rec.submit("a", lambda: _blocked(gate))
    qtbot.waitUntil(lambda: not worker._waiting, timeout=5000)  # it is running
    task.cancel()
    worker._report.emit(task, "returned", "unwanted")  # as if it returned just before
    qtbot.waitUntil(lambda: bool(rec.events), timeout=5000)  # queued to the GUI thread
    assert rec.events == [("a", "abort")]
    gate.set()  # the thread's own report now belongs to an ended task
    qtbot.wait(50)
    assert rec.events == [("a", "abort")]


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (InpaintError("the mask marks nothing"), "the mask marks nothing"),
        (ValueError("bad shape"), "ValueError: bad shape"),
        (RuntimeError("CUDA error: out of memory"), "RuntimeError: CUDA error: out of memory"),
    ],
)
def test_errors_arrive_as_text_saying_whether_the_device_failed(
    qtbot: QtBot, worker: Worker, error: Exception, text: str
) -> None:
    rec = _Recorder(worker)

    def steps() -> Generator[Progress, None, None]:
        yield Progress(0.2, "start")
        raise error

    rec.submit("a", steps)
    qtbot.waitUntil(lambda: "error" in rec.kinds(), timeout=5000)
    assert rec.events[-1] == ("a", "error", Failure(text, device="CUDA" in text))
    assert rec.ended_at_outcome == [True]


def test_a_newer_keyed_task_supersedes_a_waiting_one_and_priority_runs_first(
    qtbot: QtBot, worker: Worker
) -> None:
    rec = _Recorder(worker)
    release = threading.Event()
    ran: list[int] = []

    def job(n: int):  # type: ignore[no-untyped-def]
        def run() -> int:
            release.wait(5)
            ran.append(n)
            return n

        return call(run)

    rec.submit("p0", job(0), key="preview", priority=1)
    qtbot.waitUntil(lambda: not worker._waiting, timeout=2000)  # p0 is running
    rec.submit("gallery", job(100), key="gallery")
    for n in range(1, 21):
        rec.submit(f"p{n}", job(n), key="preview", priority=1)
    assert worker.dropped == 19
    release.set()
    qtbot.waitUntil(lambda: not worker.busy(), timeout=5000)
    # The running one, then the newest preview (before the gallery: it is what the user
    # watches), then the gallery; the superseded previews were aborted, never run.
    assert ran == [0, 20, 100]
    done = [e[0] for e in rec.events if e[1] == "done"]
    assert done == ["p0", "p20", "gallery"]
    assert sorted(e[0] for e in rec.events if e[1] == "abort") == sorted(
        f"p{n}" for n in range(1, 20)
    )


def test_shutdown_ends_tasks_without_callbacks_and_the_worker_starts_again(
    qtbot: QtBot, worker: Worker
) -> None:
    rec = _Recorder(worker)
    first = rec.submit("first", _until_cancelled)
    waiting = rec.submit("waiting", _until_cancelled)
    qtbot.waitUntil(lambda: "progress" in rec.kinds(), timeout=5000)
    assert worker.shutdown(5.0) is True
    assert first.ended and waiting.ended and first.cancelled and not worker.busy()
    assert not [t for t in threading.enumerate() if t.name == f"{THREAD_PREFIX}test"]
    qtbot.wait(50)  # the thread's late reports, if any, are delivered and dropped
    assert set(rec.kinds()) == {"progress"}
    again = rec.submit("again", call(lambda: "again"))
    qtbot.waitUntil(lambda: again.ended, timeout=5000)
    assert rec.events[-1] == ("again", "done", "again")
