"""Benchmark of latent navigation with the shipped manifold weights.

    python tools/bench_latent.py [--moves 50] [--images 4] [--json out.json]
                                 [--models-dir DIR] [--no-latency]

1. Slider latency: the real editor window (offscreen) on a Kodak photo with a 256 x 256 hole in
   its centre, so the pipeline's crop (hole + context margin) is 512 x 512 px. Each of ``moves``
   slider moves is timed from the request (``set_slider``) to the canvas holding the new preview
   QImage, one move at a time (so no request is coalesced away), the slider held (net-only
   previews). The engine's decode + composite time alone is reported beside it, and the time
   from letting go of the slider to the textured fill on the canvas.
2. Collapse check: for the first 8 directions, the mean absolute change of hole pixels (0-255)
   between the most likely fill and the fill at +2 and at -2 prior std, over ``images`` photos
   (96 x 96 centre holes); for the sliders' response directions, for SeFa's, and for 8 random
   orthonormal directions (what both should beat). Beside it, the share of each change's
   energy that is broad (survives 16 px block averaging): fine periodic patterns (a grid from
   the decoder) also change pixels, but are not the variation a slider should offer.
3. Variant spread: mean pairwise L1 (0-255) of the hole pixels of 6 seeded variants.

The CPU is shared (the model trains beside it): the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from core.base.imageio import read_image
from core.manifold.directions import Directions, sefa_directions, use_directions
from core.manifold.method import ManifoldFill
from core.manifold.options import LatentSetting
from core.pipeline.latent import LatentSession

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"
HOLE = 256  # px; with the method's 0.5 x side margin the crop is 512 x 512


def photo(index: int) -> np.ndarray:
    path = BENCH / f"kodim{index:02d}.png"
    if path.exists():
        return read_image(path).pixels[..., :3]
    from tests.conftest import synthetic_photo

    return synthetic_photo(512, 768, seed=index)


def centre_hole(image: np.ndarray, side: int = HOLE) -> np.ndarray:
    mask = np.zeros(image.shape[:2], bool)
    h, w = mask.shape
    mask[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2] = True
    return mask


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def slider_latency(moves: int) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from app.main_window import MainWindow
    from app.viewmodels.latent import Preview

    window = MainWindow()
    window.show()
    image = photo(1)
    doc = window.session.new_document(image, "bench", centre_hole(image))
    controller, canvas = window.latent, window.canvas
    arrived: list[float] = []
    # Connected after the canvas: runs once the canvas has converted the preview.
    controller.preview_changed.connect(
        lambda p: arrived.append(time.perf_counter()) if p is not None else None
    )

    def wait(count: int) -> None:
        while len(arrived) < count:
            app.processEvents()
            time.sleep(0.0005)

    controller.drag_started()  # a held slider: the net-only live preview, never textured
    start = time.perf_counter()
    controller.set_slider(0, 0.1)  # loads the model and encodes the hole
    wait(1)
    first = arrived[0] - start
    preview = controller.preview
    assert preview is not None and canvas.preview_box == preview.box
    y0, y1, x0, x1 = preview.box  # the box the pipeline cuts around the hole (one region)
    crop = (y1 - y0, x1 - x0)
    latencies = []
    rng = np.random.default_rng(0)
    for move in range(moves):
        index = move % 8
        requested = time.perf_counter()
        controller.set_slider(index, float(rng.uniform(-3, 3)))
        wait(move + 2)
        latencies.append(arrived[-1] - requested)
    released = time.perf_counter()
    controller.drag_ended()  # let go: the textured fill of the last setting replaces the net's
    wait(moves + 2)
    textured = arrived[-1] - released
    assert isinstance(controller.preview, Preview) and controller.preview.textured
    engine = preview.engine
    decode = []
    for move in range(min(moves, 20)):
        t0 = time.perf_counter()
        engine.render(LatentSetting(None, (float(move % 5) - 2,)), textured=False)
        decode.append(time.perf_counter() - t0)
    window.grab()  # the canvas paints the preview without error
    doc.undo_stack.setClean()
    window.close()
    return {
        "crop_px": [int(v) for v in crop],
        "box_px": [int(v) for v in preview.box],
        "first_preview_s (load + encode + decode)": round(first, 2),
        "median_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
        "engine_render_median_ms": round(1000 * statistics.median(decode), 1),
        "textured_after_release_s": round(textured, 2),
        "moves": moves,
    }


def hole_change(a: np.ndarray, b: np.ndarray, hole: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32))[hole].mean())


def coarse_share(a: np.ndarray, b: np.ndarray, hole: np.ndarray, cell: int = 16) -> float:
    """Share of the change's energy (inside the hole's box) that survives averaging over
    ``cell`` px blocks: near 1 for broad changes (tone, where a region lies), low for fine
    periodic patterns (a decoder's grid), which also count in ``hole_change``."""
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    diff = (a.astype(np.float32) - b.astype(np.float32))[rows[0] : rows[-1] + 1,
                                                         cols[0] : cols[-1] + 1]  # fmt: skip
    h, w = (diff.shape[0] // cell) * cell, (diff.shape[1] // cell) * cell
    diff = diff[:h, :w]
    blocks = diff.reshape(h // cell, cell, w // cell, cell, -1).mean(axis=(1, 3))
    total = float((diff**2).mean())
    return float((blocks**2).mean()) / total if total > 0 else 1.0


def collapse(method: ManifoldFill, images: int) -> dict:
    sessions = []
    for index in range(1, images + 1):
        image = photo(index)
        mask = centre_hole(image, 96)
        session = LatentSession(method, image, mask)
        session.encode()
        y0, y1, x0, x1 = session.box
        sessions.append((session, mask[y0:y1, x0:x1]))
    used = sessions[0][0].directions  # what the sliders use (response directions)
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((method.latent_dim, method.latent_dim)))
    random_dirs = Directions(q.T.astype(np.float32), np.ones(method.latent_dim, np.float32))
    result: dict = {"hole": "96 x 96 centre hole", "images": images}
    candidates = (("response", used), ("sefa", sefa_directions(method.net)),
                  ("random", random_dirs))  # fmt: skip
    for name, directions in candidates:
        per_direction, coarse = [], []
        for index in range(min(8, len(directions))):
            changes, shares = [], []
            use_directions(method, directions)
            for session, hole in sessions:
                base = session.render(LatentSetting())
                for value in (2.0, -2.0):
                    sliders = tuple(value if i == index else 0.0 for i in range(index + 1))
                    moved = session.render(LatentSetting(None, sliders))
                    changes.append(hole_change(moved, base, hole))
                    shares.append(coarse_share(moved, base, hole))
            per_direction.append(round(float(np.mean(changes)), 3))
            coarse.append(round(float(np.mean(shares)), 2))
        result[f"{name}_mean_abs_hole_change_at_2sd"] = per_direction
        result[f"{name}_coarse_share_of_change"] = coarse
    use_directions(method, used)
    result["response_strength_per_sd"] = [round(255 * float(s), 3) for s in used.strength[:8]]
    spreads = []
    for session, hole in sessions:
        fills = [session.render(LatentSetting(seed)) for seed in range(1, 7)]
        pairs = [hole_change(a, b, hole) for i, a in enumerate(fills) for b in fills[i + 1 :]]
        spreads.append(float(np.mean(pairs)))
    result["variants_mean_pairwise_hole_l1"] = round(float(np.mean(spreads)), 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--models-dir", type=Path, help="weights to measure (default: shipped)")
    parser.add_argument("--no-latency", action="store_true", help="skip the editor's latency")
    args = parser.parse_args()
    if args.models_dir is not None:  # the editor's window loads from here as well
        from core.base import resources

        resources.MODELS_DIR = args.models_dir
    try:
        method = ManifoldFill(models_dir=args.models_dir)
    except Exception as error:  # the bench reports, it does not crash
        print(f"the shipped manifold weights do not load: {error}")
        return 1
    report = {
        "model_steps": method.config.get("training", {}).get("steps"),
        "cpu_threads": __import__("torch").get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "latency": None if args.no_latency else slider_latency(args.moves),
        "collapse": collapse(method, args.images),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
