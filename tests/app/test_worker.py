"""JobSlot: one background job at a time, with signals of any other job dropped."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.worker import Job, JobSlot
from core.errors import InpaintError
from core.progress import Progress


@dataclass
class _Task(Job):
    name: str = ""


class _Recorder:
    """Every signal of a slot, in order; ``idle_at_end`` notes whether the slot had already
    ended the job when its outcome arrived."""

    def __init__(self, slot: JobSlot[_Task]) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.idle_at_end: list[bool] = []
        self._slot = slot
        slot.busy_changed.connect(lambda busy: self.events.append(("busy", busy)))
        slot.progressed.connect(lambda f, text: self.events.append(("progress", f, text)))
        slot.device_failed.connect(lambda job: self.events.append(("device_failed", job)))
        slot.returned.connect(lambda job, value: self._end("returned", job, value))
        slot.errored.connect(lambda job, text: self._end("errored", job, text))
        slot.aborted.connect(lambda job: self._end("aborted", job))

    def _end(self, *event: Any) -> None:
        self.idle_at_end.append(not self._slot.busy and self._slot.current is None)
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]


@pytest.fixture
def slot() -> Iterator[JobSlot[_Task]]:
    job_slot: JobSlot[_Task] = JobSlot()
    yield job_slot
    assert job_slot.shutdown(5.0), "a job thread outlived the test"


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


def _at_once() -> Generator[Progress, None, str]:
    yield Progress(1.0, "at once")
    return "again"


def test_result_arrives_after_the_job_ended(qtbot: QtBot, slot: JobSlot[_Task]) -> None:
    rec = _Recorder(slot)

    def steps() -> Generator[Progress, None, int]:
        yield Progress(0.5, "half")
        yield Progress(1.0, "all")
        return 42

    job = slot.start(_Task(name="a"), steps)
    assert slot.busy and slot.current is job and job.id > 0
    qtbot.waitUntil(lambda: "returned" in rec.kinds(), timeout=5000)
    assert rec.events == [
        ("busy", True),
        ("progress", 0.5, "half"),
        ("progress", 1.0, "all"),
        ("busy", False),
        ("returned", job, 42),
    ]
    assert rec.idle_at_end == [True]  # a listener may start the next job right away


def test_signals_of_other_jobs_are_dropped(qtbot: QtBot, slot: JobSlot[_Task]) -> None:
    rec = _Recorder(slot)
    gate = threading.Event()
    job = slot.start(_Task(), lambda: _blocked(gate))
    runner, other = slot.runner, job.id + 1
    runner.progressed.emit(other, 0.5, "other")
    runner.device_failed.emit(other)
    runner.errored.emit(other, "other failed")
    runner.aborted.emit(other)
    runner.returned.emit(other, "other result")
    assert rec.events == [("busy", True)] and slot.current is job

    with qtbot.waitSignal(runner.finished, timeout=5000):
        gate.set()
    assert rec.kinds() == ["busy", "progress", "busy", "returned"]
    # The job has ended: a late signal carrying its id is stale too.
    runner.errored.emit(job.id, "late")
    runner.aborted.emit(job.id)
    assert rec.kinds() == ["busy", "progress", "busy", "returned"]


def test_cancel_ends_on_the_aborted_path(qtbot: QtBot, slot: JobSlot[_Task]) -> None:
    rec = _Recorder(slot)
    job = slot.start(_Task(), _until_cancelled)
    qtbot.waitUntil(lambda: "progress" in rec.kinds(), timeout=5000)
    assert slot.cancel() is True
    assert slot.cancel() is False  # already asked: the caller shows "Cancelling..." once
    assert job.cancelled and slot.busy  # the job ends when the thread says it stopped
    seen = len(rec.events)
    slot.runner.progressed.emit(job.id, 0.9, "after cancel")  # a cancelled job is not reported

    qtbot.waitUntil(lambda: "aborted" in rec.kinds(), timeout=5000)
    qtbot.waitUntil(lambda: not slot.runner.is_running(), timeout=5000)
    qtbot.wait(20)  # any signal the thread sent last is delivered, and must have been dropped
    assert rec.events[seen:] == [("busy", False), ("aborted", job)]
    assert rec.kinds().count("busy") == 2 and "returned" not in rec.kinds()
    assert slot.cancel() is False  # nothing left to cancel


def test_a_result_landing_after_cancel_counts_as_aborted(
    qtbot: QtBot, slot: JobSlot[_Task]
) -> None:
    rec = _Recorder(slot)
    gate = threading.Event()
    job = slot.start(_Task(), lambda: _blocked(gate))
    slot.cancel()
    # As if the thread had returned just before the cancel reached it.
    slot.runner.returned.emit(job.id, "unwanted")
    assert rec.events == [("busy", True), ("busy", False), ("aborted", job)]

    with qtbot.waitSignal(slot.runner.finished, timeout=5000):
        gate.set()  # the thread's own aborted now belongs to an ended job
    assert rec.kinds() == ["busy", "busy", "aborted"]


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (InpaintError("the mask marks nothing"), "the mask marks nothing"),
        (ValueError("bad shape"), "ValueError: bad shape"),
    ],
)
def test_errors_arrive_as_text(
    qtbot: QtBot, slot: JobSlot[_Task], error: Exception, text: str
) -> None:
    rec = _Recorder(slot)

    def steps() -> Generator[Progress, None, None]:
        yield Progress(0.2, "start")
        raise error

    job = slot.start(_Task(), steps)
    qtbot.waitUntil(lambda: "errored" in rec.kinds(), timeout=5000)
    assert rec.events[-2:] == [("busy", False), ("errored", job, text)]
    assert rec.idle_at_end == [True] and "device_failed" not in rec.kinds()


def test_device_failure_is_told_while_the_job_is_current(
    qtbot: QtBot, slot: JobSlot[_Task]
) -> None:
    rec = _Recorder(slot)
    current_then: list[object] = []
    slot.device_failed.connect(lambda _job: current_then.append(slot.current))

    def steps() -> Generator[Progress, None, None]:
        yield Progress(0.2, "start")
        raise RuntimeError("CUDA error: out of memory")

    job = slot.start(_Task(), steps)
    qtbot.waitUntil(lambda: "errored" in rec.kinds(), timeout=5000)
    assert rec.kinds()[-3:] == ["device_failed", "busy", "errored"]
    assert current_then == [job]  # so the listener can mark the job before the error shows
    assert rec.events[-1] == ("errored", job, "RuntimeError: CUDA error: out of memory")


def test_shutdown_ends_the_job_once(qtbot: QtBot, slot: JobSlot[_Task]) -> None:
    rec = _Recorder(slot)
    job = slot.start(_Task(name="first"), _until_cancelled)
    with pytest.raises(RuntimeError):
        slot.start(_Task(name="second"), _until_cancelled)
    assert slot.current is job

    assert slot.shutdown(5.0) is True
    assert job.cancelled and not slot.busy and slot.current is None
    qtbot.wait(50)  # the thread's late signals, if any, are delivered and dropped
    assert slot.shutdown(5.0) is True
    assert rec.events[0] == ("busy", True)
    assert [e for e in rec.events if e[0] != "progress"] == [("busy", True), ("busy", False)]

    # The slot is usable again.
    again = slot.start(_Task(name="again"), _at_once)
    qtbot.waitUntil(lambda: "returned" in rec.kinds(), timeout=5000)
    assert rec.events[-1] == ("returned", again, "again")
