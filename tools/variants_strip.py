"""A strip of latent variants of one large hole, net alone against the shipped textured fill.

    python tools/variants_strip.py PHOTO OUT.png [--box Y0 Y1 X0 X1] [--seeds 4]

Top row: the masked photo, the original, then the net's fill for seeds 1..N (the manifold fill
before issue 16); bottom row: the most likely textured fill, the unguided PatchMatch
baseline, then the textured fill for the same seeds (net structure, spread, plus the photo's
texture). A window around the hole.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.base.imageio import read_rgb8  # noqa: E402
from core.manifold.options import LatentSetting, ManifoldOptions  # noqa: E402
from core.pipeline.latent import LatentSession  # noqa: E402
from core.pipeline.registry import get_method  # noqa: E402
from core.pipeline.session import FillRequest, fill  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--box", type=int, nargs=4, default=[180, 300, 300, 440])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--margin", type=int, default=60)
    args = parser.parse_args()
    image = read_rgb8(args.photo)
    y0, y1, x0, x1 = args.box
    mask = np.zeros(image.shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    m = args.margin
    window = (slice(max(0, y0 - m), y1 + m), slice(max(0, x0 - m), x1 + m))
    session = LatentSession(get_method("manifold"), image, mask, ManifoldOptions())
    masked = image.copy()
    masked[mask] = (255, 255, 255)
    top, bottom = (
        [masked[window], image[window]],
        [
            session.render_image(LatentSetting(None))[window],
            fill(FillRequest(image, mask, "patchmatch"))[window],
        ],
    )
    for seed in range(1, args.seeds + 1):
        setting = LatentSetting(seed)
        net = session.compose(
            LatentSession(session.method, image, mask, ManifoldOptions(guide_spread=1.0)).render(
                setting, textured=False
            )
        )
        top.append(net[window])
        bottom.append(session.render_image(setting)[window])
        print(f"seed {seed}", file=sys.stderr, flush=True)
    sheet = np.concatenate([np.concatenate(top, 1), np.concatenate(bottom, 1)], 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
