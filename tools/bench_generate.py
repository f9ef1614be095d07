"""Benchmark of generation and fusion with the shipped layout model (issue 18's targets).

    python tools/bench_generate.py [--seeds 8] [--pairs 6] [--exemplars sample kodim13 ...]
                                   [--models-dir DIR] [--json out.json] [--sheets docs/]
                                   [--no-speed]

1. Generation (512 x 512, seeds 0..N-1, each exemplar): pixel std (0-255; target >= 25), the
   least pairwise layout difference of seeds 0-3 (mean absolute difference after a sigma-4 px
   Gaussian blur, 0-255; target >= 20 between any two) and detail: mean gradient magnitude of
   the picture over the exemplar's (the exemplar at the picture's height; target >= 0.6).
2. Fusion: pairs of held-out BSDS500 val/ photos (never trained on), t = 0, 0.5, 1, texture from
   both: PSNR after a sigma-4 blur against A and against B (B squeezed to A's shape). Targets:
   PSNR_A - PSNR_B >= 2 dB at t = 0, <= -2 dB at t = 1, and t = 0.5 in between.
3. Reconstruction: PSNR after a sigma-4 blur of each val/ photo's decoded layout (512 px long
   side) against the photo, beside a flat picture of the photo's mean colour.
4. Speed: median warm seconds of a 512 x 512 generation and fusion (target <= 3 s) and of a
   layout preview as the editor's slider drag shows it (256 px; target <= 120 ms).

``--sheets DIR`` also writes DIR/generate-sheet.png (8 generations) and DIR/fuse-strip.png.
The CPU is shared: the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from core.base.imageio import Image, list_images, write_image
from core.base.metrics import gradient_magnitude
from core.base.pixels import from_float
from core.base.progress import run_to_end
from core.layout.generate import Generation, fuse_steps, generate_steps, load_exemplar, preview
from core.layout.model import LayoutModel
from core.layout.texturing import fit_height

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZE = 512


def blurred(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32) * 255.0, (0, 0), 4.0)


def psnr_blur(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((blurred(a) - blurred(b)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def exemplar_path(name: str) -> Path | None:
    return None if name == "sample" else SHARED / "bench" / f"{name}.png"


def bench_generation(model: LayoutModel, seeds: int, names: list[str]) -> tuple[dict, list]:
    results, sheet = {}, []
    for name in names:
        ex = load_exemplar(exemplar_path(name))
        # The reference: the whole exemplar at the picture's height, its damage left out.
        fitted = fit_height(ex, SIZE, 10 * SIZE)
        grad = gradient_magnitude(fitted.image)
        ex_detail = float(grad[~fitted.avoid].mean() if fitted.avoid is not None else grad.mean())
        outs = [
            run_to_end(generate_steps(model, Generation(s, SIZE, SIZE), ex)) for s in range(seeds)
        ]
        sheet.append(outs)
        blurs = [blurred(o) for o in outs[:4]]
        pairs = [float(np.abs(a - b).mean()) for a, b in itertools.combinations(blurs, 2)]
        stds = [float(o.std() * 255) for o in outs]
        details = [float(gradient_magnitude(o).mean()) / ex_detail for o in outs]
        results[name] = {
            "pixel_std_min": round(min(stds), 1),
            "pixel_std_mean": round(statistics.mean(stds), 1),
            "layout_difference_min_of_4": round(min(pairs), 1),
            "layout_difference_mean_of_4": round(statistics.mean(pairs), 1),
            "detail_ratio_min": round(min(details), 3),
            "detail_ratio_mean": round(statistics.mean(details), 3),
        }
        print(name, results[name], flush=True)
    return results, sheet


def val_photos(count: int) -> list[Path]:
    files = list_images(SHARED / "train" / "val")
    step = max(1, len(files) // max(1, count))
    return files[::step][:count]


def bench_fusion(model: LayoutModel, pairs: int) -> tuple[dict, list]:
    files = val_photos(2 * pairs)
    rows, strip = [], []
    for i in range(pairs):
        a, b = load_exemplar(files[2 * i]), load_exemplar(files[2 * i + 1])
        row = {}
        for t in (0.0, 0.5, 1.0):
            out = run_to_end(fuse_steps(model, a, b, t, "both"))
            h, w = out.shape[:2]
            ra = cv2.resize(a.image, (w, h), interpolation=cv2.INTER_AREA)
            rb = cv2.resize(b.image, (w, h), interpolation=cv2.INTER_AREA)
            row[t] = psnr_blur(out, ra) - psnr_blur(out, rb)
            if i == 0:
                strip.append((t, out, ra, rb))
        rows.append(row)
        print(
            f"pair {i}: PSNR_A - PSNR_B at t=0 {row[0.0]:+.2f}, "
            f"0.5 {row[0.5]:+.2f}, 1 {row[1.0]:+.2f}",
            flush=True,
        )
    between = sum(min(r[0.0], r[1.0]) <= r[0.5] <= max(r[0.0], r[1.0]) for r in rows)
    return {
        "pairs": pairs,
        "gap_t0_db_min": round(min(r[0.0] for r in rows), 2),
        "gap_t0_db_mean": round(statistics.mean(r[0.0] for r in rows), 2),
        "gap_t1_db_max": round(max(r[1.0] for r in rows), 2),
        "gap_t1_db_mean": round(statistics.mean(r[1.0] for r in rows), 2),
        "gap_t05_db_mean": round(statistics.mean(r[0.5] for r in rows), 2),
        "t05_in_between": f"{between} of {pairs}",
    }, strip


def bench_reconstruction(model: LayoutModel, count: int) -> dict:
    ours, flat = [], []
    for path in val_photos(count):
        photo = load_exemplar(path, max_side=SIZE).image
        h, w = photo.shape[:2]
        ours.append(psnr_blur(preview(model, model.encode(photo), w, h), photo))
        flat.append(psnr_blur(np.broadcast_to(photo.mean(axis=(0, 1)), photo.shape), photo))
    return {
        "photos": len(ours),
        "psnr_blur_db": round(statistics.mean(ours), 2),
        "flat_mean_colour_psnr_blur_db": round(statistics.mean(flat), 2),
    }


def timed(fn, repeats: int) -> float:
    fn()  # warm (numba compilation, allocator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_speed(model: LayoutModel) -> dict:
    ex = load_exemplar(None)
    files = val_photos(2)
    a, b = load_exemplar(files[0]), load_exemplar(files[1])
    code = model.sample(0)
    return {
        "generate_512_s": round(
            timed(lambda: run_to_end(generate_steps(model, Generation(0, SIZE, SIZE), ex)), 3), 2
        ),
        "fuse_512_s": round(
            timed(lambda: run_to_end(fuse_steps(model, a, b, 0.5, "both", (SIZE, SIZE))), 3), 2
        ),
        "preview_256_ms": round(1000 * timed(lambda: preview(model, code, 256, 256), 20), 1),
        "load_average": os.getloadavg()[0],
    }


def bench_editor_drag(moves: int = 20) -> dict:
    """Slider drag on a generated 512 x 512 document in the real window (offscreen): seconds
    from each slider move to the canvas holding its layout preview, one move at a time."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    win = MainWindow()
    win.resize(1200, 800)
    win.show()
    win.open_sample()

    def wait(condition, timeout_s: float = 120.0) -> None:
        # Few processEvents calls: with PySide6 6.12.0 on Python 3.11 every call of a Qt
        # function returning nothing drops a reference to None (a crash after ~5000).
        end = time.perf_counter() + timeout_s
        while not condition() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.004)

    made = []
    win.layout.generated.connect(made.append)
    win.latent.new_from_manifold()
    wait(lambda: made)
    times = []
    for i in range(moves):
        before = win.latent.preview
        start = time.perf_counter()
        slider = win.latent_panel.sliders[i % 4]
        slider.setValue(slider.value() + 0.5 if slider.value() < 2.0 else -2.0)  # never a no-op
        wait(lambda b=before: win.latent.preview is not b and win.latent.settled())
        times.append(time.perf_counter() - start)
    win.close()
    return {
        "drag_preview_ms_median": round(1000 * statistics.median(times), 1),
        "drag_preview_ms_max": round(1000 * max(times), 1),
        "moves": moves,
    }


def write_sheets(folder: Path, sheet: list, names: list[str], strip: list) -> None:
    """generate-sheet.png: a row of the seeds per exemplar (the first two); fuse-strip.png:
    A, t = 0, 0.5, 1, B."""
    rows = [
        np.concatenate([cv2.resize(o, (192, 192), interpolation=cv2.INTER_AREA) for o in outs], 1)
        for outs in sheet[:2]
    ]
    grid = np.concatenate(rows, 0)
    write_image(Image(from_float(grid, np.uint8)), folder / "generate-sheet.png", overwrite=True)
    print(f"sheet rows: {', '.join(names[:2])}; seeds 0-{len(sheet[0]) - 1}")
    h = 192

    def fit(im):
        size = (round(im.shape[1] * h / im.shape[0]), h)
        return cv2.resize(im, size, interpolation=cv2.INTER_AREA)

    row = [fit(strip[0][2])] + [fit(out) for _, out, _, _ in strip] + [fit(strip[0][3])]
    gap = np.ones((h, 6, 3), np.float32)
    parts = list(itertools.chain.from_iterable((p, gap) for p in row))[:-1]
    strip_image = Image(from_float(np.concatenate(parts, 1), np.uint8))
    write_image(strip_image, folder / "fuse-strip.png", overwrite=True)


def record(report: dict, models_dir: Path | None) -> None:
    """The figures into the layout model's manifest entry (``benchmark``)."""
    from core.base.resources import MODELS_DIR
    from core.base.weights import model_entry, write_manifest_entry

    folder = models_dir or MODELS_DIR
    entry = model_entry("layout", folder)
    command = "python tools/bench_generate.py " + " ".join(sys.argv[1:])
    entry["benchmark"] = {"command": command, **report}
    write_manifest_entry(entry, folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--exemplars", nargs="+", default=["sample", "kodim13", "kodim05"])
    parser.add_argument("--recon", type=int, default=24, help="val/ photos for reconstruction")
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sheets", type=Path)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument(
        "--record", action="store_true", help="write the figures into the model's manifest entry"
    )
    args = parser.parse_args()
    model = LayoutModel.load(args.models_dir)
    report = {}
    report["generation"], sheet = bench_generation(model, args.seeds, args.exemplars)
    report["fusion"], strip = bench_fusion(model, args.pairs)
    report["reconstruction"] = bench_reconstruction(model, args.recon)
    if not args.no_speed:
        report["speed"] = bench_speed(model)
        report["speed"].update(bench_editor_drag())
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.sheets:
        write_sheets(args.sheets, sheet, args.exemplars, strip)
    if args.record:
        record(report, args.models_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
