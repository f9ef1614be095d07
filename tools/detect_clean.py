"""The detector on clean photos with fine detail: what share of each is proposed, and a sheet
of the crops where it proposes most (docs/detect-clean-sheet.png).

    python tools/detect_clean.py [--images ../shared/data/bench] [--skimage] \
        [--models-dir DIR] [--sheet docs/detect-clean-sheet.png] [--json out.json]

The photos: a folder (Kodak24 by default: lighthouse railings, rigging, window frames, hair,
a parrot's feathers) and, with ``--skimage``, the photos bundled with scikit-image that the
project never trains or tunes on (a cat's whiskers, a launch tower's lattice, an astronaut's
suit, a coffee cup). Nothing in them is damage, so every flagged pixel is a false alarm.

Per photo: ``flagged %`` (the detector's mask at its default threshold: what the benchmark
counts) and ``proposed %`` (the fill mask - grown by ``FILL_GROW`` px - that Accept or
``fill --auto-mask`` would replace). The sheet shows, per photo, the 160 px crop with the most
proposed pixels at 100 %, the proposal in cyan beside the crop untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base.imageio import list_images, read_rgb8
from core.detect import detect, fill_mask, proposed_share

CROP = 160
# scikit-image's bundled colour photos of real scenes (no download needed).
SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")


def photos(folder: Path | None, with_skimage: bool) -> list[tuple[str, np.ndarray]]:
    out = []
    if folder is not None:
        out += [(p.stem, read_rgb8(p)) for p in list_images(folder)]
    if with_skimage:
        import skimage.data

        for name in SKIMAGE_PHOTOS:
            image = getattr(skimage.data, name)()
            if image.ndim == 2:
                image = np.repeat(image[..., None], 3, 2)
            out.append((f"skimage-{name}", np.ascontiguousarray(image[..., :3])))
    return out


def busiest_crop(mask: np.ndarray, size: int = CROP) -> tuple[int, int]:
    """(y, x) of the ``size`` px window holding the most of ``mask``."""
    h, w = mask.shape
    size = min(size, h, w)
    integral = cv2.integral(mask.astype(np.uint8))
    sums = (
        integral[size:, size:]
        - integral[:-size, size:]
        - integral[size:, :-size]
        + integral[:-size, :-size]
    )
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y), int(x)


def tile(rgb: np.ndarray, mask: np.ndarray, name: str, share: float) -> np.ndarray:
    y, x = busiest_crop(mask)
    crop = rgb[y : y + CROP, x : x + CROP]
    shown = crop.copy()
    shown[mask[y : y + CROP, x : x + CROP]] = (0, 255, 255)
    pair = np.concatenate([crop, np.full((crop.shape[0], 4, 3), 255, np.uint8), shown], 1)
    canvas = np.full((CROP + 22, 2 * CROP + 4, 3), 255, np.uint8)
    canvas[22 : 22 + pair.shape[0], : pair.shape[1]] = pair
    label = f"{name}: {share:.2%} proposed"
    cv2.putText(canvas, label, (2, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--skimage", action="store_true", help="add scikit-image's photos")
    parser.add_argument("--models-dir", type=Path, help="models folder (default: shipped)")
    parser.add_argument("--sheet", type=Path, help="write the crop sheet here")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows, tiles = {}, []
    for name, rgb in photos(args.images if args.images.is_dir() else None, args.skimage):
        result = detect(rgb, models_dir=args.models_dir)
        proposal = fill_mask(result)
        flagged, proposed = float(result.mask.mean()), proposed_share(proposal)
        rows[name] = {"flagged_percent": 100 * flagged, "proposed_percent": 100 * proposed}
        print(f"{name}: flagged {flagged:.3%}, proposed {proposed:.3%}")
        tiles.append(tile(rgb, proposal, name, proposed)[..., ::-1])
    groups = {
        "kodak": [v for k, v in rows.items() if not k.startswith("skimage-")],
        "skimage": [v for k, v in rows.items() if k.startswith("skimage-")],
    }
    for group, values in groups.items():
        if values:
            mean_flagged = np.mean([v["flagged_percent"] for v in values])
            mean_proposed = np.mean([v["proposed_percent"] for v in values])
            print(f"{group} ({len(values)}): flagged {mean_flagged:.3f} %, "
                  f"proposed {mean_proposed:.3f} % on average")  # fmt: skip
    if args.sheet and tiles:
        blank = np.full_like(tiles[0], 255)
        while len(tiles) % args.columns:
            tiles.append(blank)
        step = args.columns
        grid = [np.concatenate(tiles[i : i + step], 1) for i in range(0, len(tiles), step)]
        cv2.imwrite(str(args.sheet), np.concatenate(grid, 0))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
