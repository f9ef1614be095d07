"""The detector on clean photos with fine detail: what share of each is proposed, and a sheet
of the crops where it proposes most (docs/detect-clean-before-after.png, with --before).

    python tools/detect_clean.py [--images ../shared/data/bench] [--skimage] \
        [--models-dir DIR] [--sheet docs/detect-clean-sheet.png] [--json out.json]

The photos: a folder (Kodak24 by default: lighthouse railings, rigging, window frames, hair,
a parrot's feathers) and, with ``--skimage``, the photos bundled with scikit-image that the
project never trains or tunes on (a cat's whiskers, a launch tower's lattice, an astronaut's
suit, a coffee cup). Nothing in them is damage, so every flagged pixel is a false alarm.

Per photo: ``flagged %`` (the detector's mask at its default threshold: what the benchmark
counts) and ``proposed %`` (the fill mask - grown by ``FILL_GROW`` px - that Accept or
``fill --auto-mask`` would replace). The sheet shows, per photo, the 160 px crop with the most
proposed pixels at 100 %, the proposal in cyan beside the crop untouched; with ``--before DIR``
the proposal of the detector in DIR too (the crop: where the two together propose most).
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


def tile(rgb: np.ndarray, proposals: list[tuple[str, np.ndarray]], name: str) -> np.ndarray:
    """The photo's crop where the proposals hold most, untouched, then each proposal in cyan."""
    y, x = busiest_crop(np.logical_or.reduce([mask for _, mask in proposals]))
    crop = rgb[y : y + CROP, x : x + CROP]
    gap = np.full((crop.shape[0], 4, 3), 255, np.uint8)
    parts, labels = [crop], [name]
    for label, mask in proposals:
        shown = crop.copy()
        shown[mask[y : y + CROP, x : x + CROP]] = (0, 255, 255)
        parts += [gap, shown]
        labels.append(f"{label}{proposed_share(mask):.2%}")
    pair = np.concatenate(parts, 1)
    canvas = np.full((CROP + 22, pair.shape[1], 3), 255, np.uint8)
    canvas[22 : 22 + pair.shape[0], : pair.shape[1]] = pair
    for i, label in enumerate(labels):
        cv2.putText(
            canvas, label, (2 + i * (CROP + 4), 15), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    return canvas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--skimage", action="store_true", help="add scikit-image's photos")
    parser.add_argument("--models-dir", type=Path, help="models folder (default: shipped)")
    parser.add_argument("--sheet", type=Path, help="write the crop sheet here")
    parser.add_argument(
        "--before", type=Path, help="models folder of an earlier detector: its proposal beside"
    )
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
        proposals = [("", proposal)]
        if args.before:
            earlier = fill_mask(detect(rgb, models_dir=args.before))
            proposals = [("before ", earlier), ("now ", proposal)]
        tiles.append(tile(rgb, proposals, name)[..., ::-1])
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
