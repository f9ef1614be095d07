"""Measure the editor on a huge scan: a synthetic 50-megapixel 16-bit RGB TIFF.

Usage: python tools/bench_huge_scan.py [--megapixels 50] [--scratches 40] [--keep FILE]

Runs the real MainWindow offscreen and prints: open time and the longest stall of the GUI thread
while opening; the repaint time of the whole canvas at fit, at 100 % and after a pan at 100 %;
the time of one brush dab (mask edit plus the repaint of its rectangle); a telea fill of
scattered scratches (wall time, GUI-thread stall); the autosave that follows (time, stall, size
on disk); and the process's peak resident memory
after each stage (``ru_maxrss``), next to the size of the pixels themselves.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import tifffile
from bench_large_photo import scratches  # this script's folder is first on sys.path


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_scan(megapixels: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth 16-bit RGB photo with grain, 3:2, about ``megapixels`` megapixels."""
    height = round((megapixels * 1e6 / 1.5) ** 0.5)
    width = round(height * 1.5)
    small = rng.integers(0, 65535, (height // 64 + 1, width // 64 + 1, 3)).astype(np.uint16)
    pixels = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(0, 512, (height, 1, 1), dtype=np.uint16)  # cheap row-wise texture
    np.add(pixels, grain, out=pixels, casting="unsafe")
    return pixels


class StallMeter:
    """The longest gap between ticks of a 10 ms timer on the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self) -> StallMeter:
        self.ticks = [time.perf_counter()]
        self.timer.start(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()
        self.ticks.append(time.perf_counter())

    @property
    def longest(self) -> float:
        return max(np.diff(self.ticks)) if len(self.ticks) > 1 else 0.0


def timed_repaints(canvas, count: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(count):
        start = time.perf_counter()
        canvas.repaint()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=50.0)
    parser.add_argument("--scratches", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="write the scan here and keep it")
    args = parser.parse_args()

    from PySide6.QtCore import QCoreApplication, QEventLoop, QPointF, QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="huge-scan-"))
    os.environ.setdefault("MANIFOLD_INPAINT_DATA_DIR", str(tmp / "data"))
    QCoreApplication.setOrganizationName("ManifoldInpaintBench")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
    from app.main_window import MainWindow

    rng = np.random.default_rng(0)
    pixels = synthetic_scan(args.megapixels, rng)
    h, w, _ = pixels.shape
    path = args.keep or tmp / "scan.tif"
    tifffile.imwrite(path, pixels, photometric="rgb")  # uncompressed, as scanners write
    print(f"scan {w}x{h} ({w * h / 1e6:.1f} MP) 16-bit RGB: {pixels.nbytes / 2**20:.0f} MiB of "
          f"pixels, file {path.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
    mask = scratches((h, w), args.scratches, rng, longest=900, widest=5)
    del pixels
    base = rss_mib()
    print(f"baseline RSS {base:.0f} MiB (Python, Qt, torch, the scratch mask)")

    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    canvas = window.canvas

    with StallMeter() as stall:
        start = time.perf_counter()
        assert window.open_path(path)
        while window.document() is None:  # a large file is read on the files worker
            app.processEvents()
            time.sleep(0.005)
        app.processEvents()
        canvas.repaint()
        opened = time.perf_counter() - start
    print(f"open + first paint: {opened:.2f} s, GUI thread stalled at most {stall.longest:.2f} s;"
          f" peak RSS {peak_mib():.0f} MiB")  # fmt: skip

    canvas.fit_to_window()
    fit = timed_repaints(canvas)
    canvas.zoom_actual()
    actual = timed_repaints(canvas)
    pans = []
    for step in range(5):
        start = time.perf_counter()
        canvas.pan_by(QPointF(-137.0 - step, -91.0))
        canvas.repaint()
        pans.append(time.perf_counter() - start)
    canvas.fit_to_window()
    canvas.repaint()
    start = time.perf_counter()
    canvas.zoom_by(1.25)
    canvas.repaint()
    zoom = time.perf_counter() - start
    print(f"repaint at fit ({canvas.scale * 100 / 1.25:.0f} %): {fit * 1000:.1f} ms; at 100 %: "
          f"{actual * 1000:.1f} ms; pan at 100 %: {statistics.median(pans) * 1000:.1f} ms; "
          f"a wheel notch from fit: {zoom * 1000:.1f} ms")  # fmt: skip

    session = window.session
    dabs = []
    for i in range(10):
        start = time.perf_counter()
        target = window.masks.begin_stroke()
        y, x = h // 2 + 7 * i, w // 2 + 11 * i
        box = (y - 12, y + 13, x - 12, x + 13)
        target[box[0] : box[1], box[2] : box[3]] = True
        window.masks.stroke_drawn(box)
        window.masks.end_stroke("Paint mask")
        canvas.repaint(canvas._widget_rect(box))
        dabs.append(time.perf_counter() - start)
    print(f"brush dab (mask edit + repaint of its rectangle) at fit: "
          f"{statistics.median(dabs) * 1000:.1f} ms")  # fmt: skip

    doc = window.document()
    doc.mask[:] = mask
    session.mask_changed.emit(None)
    window.fill.method = "telea"
    loop = QEventLoop()
    window.fill_finished.connect(loop.quit)
    window.fill.error.connect(lambda text: (print("fill error:", text), loop.quit()))
    QTimer.singleShot(600_000, loop.quit)
    with StallMeter() as stall:
        start = time.perf_counter()
        assert window.fill.start()
        loop.exec()
        filled = time.perf_counter() - start
    hole_mp = mask.sum() / 1e6
    print(f"telea fill of {args.scratches} scattered scratches ({hole_mp:.2f} MP of holes): "
          f"{filled:.2f} s, GUI thread stalled at most {stall.longest:.2f} s; "
          f"peak RSS {peak_mib():.0f} MiB, now {rss_mib():.0f} MiB")  # fmt: skip
    saver = window.autosaver
    saver.delay_ms = 0
    saver.schedule(doc)  # the fill already scheduled one; write now, timed
    loop = QEventLoop()
    saver.saved.connect(loop.quit)
    with StallMeter() as stall:
        start = time.perf_counter()
        loop.exec()
        saver.wait()
        autosaved = time.perf_counter() - start
    files = [p for p in saver.store.folder.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"autosave after the fill (mask + changed patches): {autosaved:.2f} s in the background,"
          f" GUI thread stalled at most {stall.longest:.2f} s; {len(files)} files, "
          f"{size / 2**20:.1f} MiB on disk")  # fmt: skip
    window.ask_unsaved = lambda titles: QMessageBox.StandardButton.Discard
    window.close()
    if args.keep is None:
        path.unlink()


if __name__ == "__main__":
    main()
