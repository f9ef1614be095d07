"""How far beyond a detected mark the photo still differs from its surroundings.

    python tools/measure_fringe.py [--real ../shared/data/real] [--bench ../shared/data/bench]

For a mark's core mask ``C`` (the detection at its default threshold, or the reference mask
of a real scan), ring by ring (pixels at distance d = 1, 2, ... px from ``C``): the mean
contrast against the local background (see :func:`ring_profile`), in 8-bit levels, signed so
that a mark's own polarity counts positive. Where it is still clearly above zero, the mark's
soft edge goes on: a fill must replace it too (``core.detect.FILL_GROW``), or a rim stays.

On Kodak the same is measured for synthetic damage (scratches and dust of the benchmark, seed
7) around the detected mask, against the clean photo itself (the floor is then grain and JPEG).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base.imageio import list_images, read_rgb8
from core.detect import detect
from core.detect.synth import synthesize

REACH = 10
FAR = (7, 10)  # rings that give a mark's local background


def ring_profile(
    rgb_u8: np.ndarray, core: np.ndarray, clean: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of the signed contrast per ring 0..REACH, pixel count per ring); ring 0 is the core.

    Contrast: luma minus the local background (the mean of the rings ``FAR`` within 21 px, or
    the ``clean`` photo's luma when known), signed by the polarity of the nearest mark (+ where
    that mark is lighter than its background): texture averages out, a soft edge does not.
    """
    luma = cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2GRAY).astype(np.float32)
    outside, labels = cv2.distanceTransformWithLabels(
        (~core).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP
    )
    if clean is None:
        far = ((outside > FAR[0]) & (outside <= FAR[1])).astype(np.float32)
        weight = cv2.boxFilter(far, -1, (21, 21), normalize=False)
        background = cv2.boxFilter(luma * far, -1, (21, 21), normalize=False)
        background /= np.maximum(weight, 1e-6)
        known = weight > 0
    else:
        background = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY).astype(np.float32)
        known = np.ones(core.shape, bool)
    diff = luma - background
    sel = core & known
    polarity = np.sign(np.bincount(labels[sel], diff[sel], minlength=labels.max() + 1)).astype(
        np.float32
    )
    signed = diff * polarity[labels]
    sums, counts = np.zeros(REACH + 1), np.zeros(REACH + 1)
    for d in range(REACH + 1):
        ring = known & (core if d == 0 else (outside > d - 1) & (outside <= d) & ~core)
        sums[d], counts[d] = signed[ring].sum(), ring.sum()
    return sums, counts


def report(label: str, sums: np.ndarray, counts: np.ndarray) -> None:
    mean = sums / np.maximum(counts, 1)
    print(f"{label}: signed contrast in 8-bit levels, core then ring by px:")
    print(
        "   core "
        + f"{mean[0]:+.1f}  "
        + "  ".join(f"{d}: {m:+.1f}" for d, m in enumerate(mean) if d)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--masks", type=Path, default=Path("tests/data/real_masks"))
    parser.add_argument("--bench", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--limit", type=int, default=8, help="Kodak photos to use")
    parser.add_argument("--models-dir", type=Path, help="models folder (default: resources/models)")
    args = parser.parse_args()
    for scan in sorted(args.real.glob("*.png")):
        rgb = read_rgb8(scan)
        detected = detect(rgb, models_dir=args.models_dir).mask
        report(f"{scan.stem}, detected core", *ring_profile(rgb, detected))
        ref_path = args.masks / scan.name
        if ref_path.is_file():
            reference = cv2.imread(str(ref_path), cv2.IMREAD_GRAYSCALE) == 255
            report(f"{scan.stem}, reference core", *ring_profile(rgb, reference))
    total = np.zeros((2, REACH + 1))
    for index, path in enumerate(list_images(args.bench)[: args.limit]):
        clean = read_rgb8(path).astype(np.float32) / 255.0
        d = synthesize(clean, np.random.default_rng([7, index, 2]), ("scratch", "dust"))
        damaged = np.rint(d.image * 255).astype(np.uint8)
        clean_u8 = np.rint(clean * 255).astype(np.uint8)
        detected = detect(damaged, models_dir=args.models_dir).mask
        total += np.array(ring_profile(damaged, detected, clean_u8))
    report(
        f"Kodak (first {args.limit}), synthetic damage vs the clean photo, detected core", *total
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
