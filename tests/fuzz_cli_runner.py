"""Runs ``fill`` over the fuzz corpus in ONE process, through the same ``main()`` that
``python main.py`` calls, with file descriptor 2 captured for each file: what a user's terminal
would show for it, C libraries' own prints included. One process instead of hundreds keeps the
fuzz test to seconds (each ``python main.py`` pays for importing torch).

``python -m tests.fuzz_cli_runner WORK_DIR COUNT SEED`` writes ``WORK_DIR/results.json``; the
file being run is in ``WORK_DIR/current`` (a hang leaves its name there).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def captured_fd2() -> Iterator[list[str]]:
    """Everything written to fd 2 (Python's sys.stderr and C's stderr alike) inside."""
    text: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield text
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text.append(sink.read().decode("utf-8", "replace"))


def run_one(main, work: Path, name: str, data: bytes, mask: Path) -> dict:  # type: ignore[no-untyped-def]
    source = work / "in" / name
    source.write_bytes(data)
    out = work / "out" / f"restored-{name}"
    args = ["fill", str(source), "--mask", str(mask), "-o", str(out), "--method", "telea"]
    (work / "current").write_text(name)
    # A fresh "once per place" warnings registry per file, as a new process would have.
    with warnings.catch_warnings(), captured_fd2() as err:
        try:
            rc = main(args)
        except SystemExit as exit_:
            rc = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # what Python would print before dying
            traceback.print_exc()
            rc = 1
    record = {
        "name": name,
        "rc": rc,
        "stderr": err[0],
        "input_intact": hashlib.sha256(source.read_bytes()).digest()
        == hashlib.sha256(data).digest(),
        "output": out.exists(),
        "leftovers": sorted(p.name for p in out.parent.iterdir() if p != out and name in p.name),
    }
    if out.exists():
        from core.base.imageio import read_image

        with captured_fd2():
            try:
                record["input_shape"] = list(read_image(source).pixels.shape)
                record["output_shape"] = list(read_image(out).pixels.shape)
            except Exception as error:  # the test reports it
                record["output_error"] = str(error)
    return record


def run(work: Path, count: int, seed: int) -> list[dict]:
    from main import main
    from tests.fuzz_images import corpus, write_mask

    for folder in ("in", "out"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    mask = write_mask(work / "mask.png")
    return [run_one(main, work, f.name, f.data, mask) for f in corpus(count, seed)]


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    results = run(folder, int(sys.argv[2]), int(sys.argv[3]))
    (folder / "results.json").write_text(json.dumps(results, indent=1))
