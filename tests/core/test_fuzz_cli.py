"""Fuzz: a few hundred damaged PNG / JPEG / TIFF / WebP / BMP files (tests/fuzz_images.py)
through ``fill``. Each either fills (exit 0, an output of the input's size, nothing on stderr)
or fails with exactly one line on stderr (no traceback, no library chatter, no output file);
the input is never changed, and nothing hangs.

The corpus runs in one process through ``main()``, with fd 2 captured per file
(tests/fuzz_cli_runner.py); a few files also run as real ``python main.py`` processes, to show
that one process per file sees the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz_images import corpus, write_mask

ROOT = Path(__file__).resolve().parents[2]
COUNT, SEED = 400, 2026


def problems(record: dict) -> list[str]:
    """What is wrong with one file's outcome (empty: it behaved)."""
    found = []
    lines = record["stderr"].strip().splitlines()
    if not record["input_intact"]:
        found.append("the input file changed")
    if record["leftovers"]:
        found.append(f"temporary files left: {record['leftovers']}")
    if record["rc"] == 0:
        if not record["output"]:
            found.append("exit 0 but no output")
        elif record.get("output_shape") != record.get("input_shape"):
            found.append(f"output {record.get('output_shape')} != {record.get('input_shape')}")
        if lines:
            found.append("exit 0 with stderr")
    else:
        if record["output"]:
            found.append("failed but wrote an output")
        if len(lines) != 1 or not lines[0].startswith("error: "):
            found.append(f"{len(lines)} stderr lines, not one 'error: ' line")
        if "Traceback" in record["stderr"]:
            found.append("a traceback")
    return found


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    work = tmp_path_factory.mktemp("fuzz")
    command = [sys.executable, "-m", "tests.fuzz_cli_runner", str(work), str(COUNT), str(SEED)]
    try:
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=300, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: the fuzz run stopped at {(work / 'current').read_text()}")
    except subprocess.CalledProcessError as error:
        pytest.fail(f"the fuzz runner died at {(work / 'current').read_text()}: {error.stderr}")
    return json.loads((work / "results.json").read_text())


def test_every_damaged_file_fills_or_is_one_clear_line(results: list[dict]) -> None:
    bad = {r["name"]: [*problems(r), r["stderr"][:300]] for r in results if problems(r)}
    assert not bad, json.dumps(bad, indent=1)
    assert len(results) >= COUNT
    fills = sum(r["rc"] == 0 for r in results)
    assert 0.2 * len(results) < fills < 0.8 * len(results)  # both roads are exercised
    for suffix in (".png", ".jpg", ".tif", ".webp", ".bmp"):  # every format fails somewhere
        assert any(r["rc"] != 0 and r["name"].endswith(suffix) for r in results), suffix


def test_real_processes_print_the_same_as_the_in_process_run(
    results: list[dict], tmp_path: Path
) -> None:
    """A few files, one ``python main.py`` each (each pays for importing torch): damaged TIFFs
    (which once printed tifffile's and libtiff's warnings first), a JPEG, and a good fill."""
    data = {f.name: f.data for f in corpus(COUNT, SEED)}
    failed = [r for r in results if r["rc"] != 0]
    picks = [r for r in failed if r["name"].endswith(".tif")][:3]
    picks += [r for r in failed if r["name"].endswith(".jpg")][:1]
    picks += [r for r in results if r["rc"] == 0 and r["name"].endswith(".tif")][:1]
    mask = write_mask(tmp_path / "mask.png")
    for record in picks:
        source = tmp_path / record["name"]
        source.write_bytes(data[record["name"]])
        out = tmp_path / f"restored-{record['name']}"
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "fill", str(source), "--mask", str(mask),
             "-o", str(out), "--method", "telea"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == record["rc"], record["name"]
        assert result.stderr.splitlines() == record["stderr"].splitlines(), record["name"]
        assert out.exists() == (record["rc"] == 0)
        assert source.read_bytes() == data[record["name"]]
