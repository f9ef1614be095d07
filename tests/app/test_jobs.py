"""JobViewModel, the job model the fill, detect, layout and latent view-models share: busy and
busy_changed follow the open tasks (a superseded task does not flip them), each outcome reaches
its handler after the task has ended there, cancel says so once, failures come back as such."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.viewmodels.jobs import Job, JobViewModel
from app.worker import Failure, Worker, call
from core.base.errors import InpaintError
from tests.app.test_worker import _blocked, _until_cancelled

TIMEOUT_MS = 5000


@pytest.fixture
def jobs() -> Iterator[JobViewModel]:
    worker = Worker("jobs-test")
    model = JobViewModel(worker)
    yield model
    assert worker.shutdown(5.0)


def test_busy_follows_the_open_tasks_and_handlers_see_it_ended(
    qtbot: QtBot, jobs: JobViewModel
) -> None:
    flips: list[bool] = []
    jobs.busy_changed.connect(flips.append)
    gate = threading.Event()
    seen: list[tuple[str, object, bool]] = []
    jobs._run(lambda: _blocked(gate, "a"), done=lambda v: seen.append(("done", v, jobs.busy)))
    jobs._run(call(lambda: "b"), done=lambda v: seen.append(("done", v, jobs.busy)))
    assert jobs.busy and flips == [True]  # one flip for two tasks
    gate.set()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=TIMEOUT_MS)
    assert seen == [("done", "a", True), ("done", "b", False)]  # in order; the last sees idle
    assert flips == [True, False] and not jobs.busy


def test_a_superseded_task_does_not_flip_busy(qtbot: QtBot, jobs: JobViewModel) -> None:
    gate = threading.Event()
    jobs._run(lambda: _blocked(gate, "running"), done=lambda _v: None)  # holds the worker
    aborted: list[str] = []
    jobs._run(call(lambda: "old"), key="preview", done=lambda _v: None,
              aborted=lambda: aborted.append("old"))  # fmt: skip
    flips: list[bool] = []
    jobs.busy_changed.connect(flips.append)
    done: list[object] = []
    jobs._run(call(lambda: "new"), key="preview", done=done.append)
    assert aborted == ["old"] and flips == [] and jobs.busy
    gate.set()
    qtbot.waitUntil(lambda: done == ["new"], timeout=TIMEOUT_MS)
    assert flips == [False]


def test_cancel_stops_the_work_and_says_so_once(qtbot: QtBot, jobs: JobViewModel) -> None:
    progress: list[tuple[float, str]] = []
    jobs.progress.connect(lambda f, text: progress.append((f, text)))
    ended: list[str] = []
    jobs._run(_until_cancelled, done=lambda _v: ended.append("done"),
              aborted=lambda: ended.append("aborted"))  # fmt: skip
    assert jobs.cancel() and progress == [(0.0, jobs.cancelling)]
    qtbot.waitUntil(lambda: ended == ["aborted"], timeout=TIMEOUT_MS)
    assert not jobs.busy and not jobs.cancel()  # nothing left to stop: no second note
    assert progress == [(0.0, jobs.cancelling)]


def test_a_failure_reaches_its_handler(qtbot: QtBot, jobs: JobViewModel) -> None:
    def broken() -> str:
        raise InpaintError("the photo is broken")

    failures: list[Failure] = []
    jobs._run(call(broken), done=lambda _v: None, failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT_MS)
    assert failures[0].text == "the photo is broken" and not jobs.busy


def test_a_job_knows_how_long_it_has_run() -> None:
    job = Job(started=time.monotonic() - 2.0)
    assert 2.0 <= job.seconds() < 60.0
