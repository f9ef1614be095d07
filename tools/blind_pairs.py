"""Blind pairs: for each large hole, two fills side by side in a random order, the key apart.

    python tools/blind_pairs.py --images ../shared/data/bench --classes box,thick \
        --methods manifold,patchmatch --out out/blind [--seed 0]

Per photo and mask class (the bench's seeded masks, ``core.bench.bench_masks``), the hole's
box grown by 24 px is cut from both fills at 100 % and put side by side, "A" left and "B"
right, with no other mark; which method is A is drawn from ``--seed``. Written:

* ``OUT/pair-NN.png``: one pair each (what a judge sees, one at a time);
* ``OUT/sheet.png``: every pair, numbered, for a quick look;
* ``OUT/key.json``: which method each side is - kept apart until every pair is judged.

``--saved DIR,DIR`` pairs fills that ``bench --save`` runs wrote instead of filling anew: the
first folder's fills of the first method against the second's of the second (one method: the
same for both; two runs of one method with two sets of weights, say), named ``folder/method``.

Judge with a person (or a helper) who is not told the methods and sees only the pair images,
with one question ("which looks like an untouched photograph?"); then ``--tally answers.json``
(``{"01": "A", ...}``) prints how often each method was chosen, per class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base.imageio import list_images
from core.bench import bench_masks, read_rgb, saved_fill_name
from core.perceptual import hole_box
from core.pipeline.session import FillRequest, fill

MARGIN = 24
GAP = 8


def pair_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A | B with a white gap and the two letters above (uint8 RGB)."""
    h, w = a.shape[:2]
    canvas = np.full((h + 24, 2 * w + GAP, 3), 255, np.uint8)
    canvas[24:, :w], canvas[24:, w + GAP :] = a, b
    for text, x in (("A", w // 2 - 6), ("B", w + GAP + w // 2 - 6)):
        cv2.putText(canvas, text, (x, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    return canvas


def saved_fill(folder: Path, photo: str, kind: str, method: str) -> np.ndarray:
    """The fill ``bench --save`` wrote into ``folder`` for this photo, class and method."""
    path = folder / saved_fill_name(photo, kind, method)
    if not path.is_file():
        raise SystemExit(f"{path} is missing: was the bench run with the same images and classes?")
    return read_rgb(path)


def make_pairs(args: argparse.Namespace) -> int:
    methods = args.methods.split(",")
    if args.saved:
        folders = [Path(f) for f in args.saved.split(",")]
        methods = methods * 2 if len(methods) == 1 else methods
        sources = {f"{f.name}/{m}": (f, m) for f, m in zip(folders, methods, strict=True)}
        if len(sources) != 2:
            raise SystemExit("--saved needs two folders, or two methods of one folder")
        first, second = sources
    else:
        first, second = methods
    images = list_images(args.images)[: args.limit or None]
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    key, tiles = {}, []
    number = 0
    for index, path in enumerate(images):
        image = read_rgb(path)
        masks = bench_masks(*image.shape[:2], index, args.classes.split(","), args.bench_seed)
        for kind, hole in masks.items():
            number += 1
            if args.saved:
                fills = {
                    name: saved_fill(folder, path.stem, kind, method)
                    for name, (folder, method) in sources.items()
                }
            else:
                fills = {m: fill(FillRequest(image, hole, m)) for m in (first, second)}
            ys, xs = hole_box(hole, MARGIN)
            swap = bool(rng.random() < 0.5)
            a, b = (second, first) if swap else (first, second)
            name = f"{number:02d}"
            picture = pair_image(fills[a][ys, xs], fills[b][ys, xs])
            cv2.imwrite(str(args.out / f"pair-{name}.png"), picture[..., ::-1])
            key[name] = {"A": a, "B": b, "photo": path.stem, "class": kind}
            tiles.append((name, picture))
            print(f"pair {name}: {path.stem} {kind}")
    (args.out / "key.json").write_text(json.dumps(key, indent=2))
    width = max(t.shape[1] for _, t in tiles)
    rows = []
    for name, t in tiles:
        row = np.full((t.shape[0] + 20, width, 3), 255, np.uint8)
        row[20:, : t.shape[1]] = t
        cv2.putText(row, f"pair {name}", (2, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        rows.append(row)
    cv2.imwrite(str(args.out / "sheet.png"), np.concatenate(rows, 0)[..., ::-1])
    return 0


def tally(args: argparse.Namespace) -> int:
    key = json.loads((args.out / "key.json").read_text())
    answers = json.loads(args.tally.read_text())
    chosen: dict[str, dict[str, int]] = {}
    for name, side in answers.items():
        entry = key[name]
        method = entry[side.strip().upper()]
        per = chosen.setdefault(entry["class"], {})
        per[method] = per.get(method, 0) + 1
    for kind, per in chosen.items():
        total = sum(per.values())
        shown = ", ".join(f"{m} {n}/{total}" for m, n in sorted(per.items()))
        print(f"{kind}: {shown}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/data/bench"))
    parser.add_argument("--classes", default="box,thick")
    parser.add_argument("--methods", default="manifold,patchmatch")
    parser.add_argument("--out", type=Path, default=Path("out/blind"))
    parser.add_argument("--seed", type=int, default=0, help="which side each method takes")
    parser.add_argument("--bench-seed", type=int, default=0, help="the bench's mask seed")
    parser.add_argument("--limit", type=int, default=0, help="first N photos only")
    parser.add_argument(
        "--saved", help="DIR,DIR: bench --save folders, one for --methods' first, one its second"
    )
    parser.add_argument("--tally", type=Path, help="answers JSON: count instead of drawing")
    args = parser.parse_args()
    return tally(args) if args.tally else make_pairs(args)


if __name__ == "__main__":
    sys.exit(main())
