"""Fingerprints of a fixed set of fills: one sha256 per result, to show that a change of the code
leaves every pixel as it was.

    python tools/fill_fingerprints.py [--out FILE] [--quick]

Cases: small photos (three Kodak photos from ../shared/data/bench scaled down, or synthetic ones
where the corpus is absent, plus a synthetic one) x every mask class of ``core.base.maskgen`` x the
fill methods, the manifold fill with seeds, sliders, fusion, texture off and film grain, the
latent panel's session, a 16-bit RGBA and a gray photo, and a larger photo whose holes the net
fills at half scale. Each line: ``case-name sha256``; run it before and after a change and
``diff`` the two outputs. Takes a few minutes on a busy 2-core CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.base import maskgen  # noqa: E402
from core.base.imageio import read_rgb8  # noqa: E402
from core.manifold.options import Blend, LatentSetting, ManifoldOptions  # noqa: E402
from core.pipeline.latent import LatentSession  # noqa: E402
from core.pipeline.registry import get_method  # noqa: E402
from core.pipeline.session import FillRequest, fill  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402

BENCH = ROOT.parent / "shared" / "data" / "bench"
SIZE = (128, 192)  # height, width of the small photos
CLASSIC = ("telea", "ns", "biharmonic", "patchmatch")


def photos() -> dict[str, np.ndarray]:
    found = {}
    for name in ("kodim01", "kodim05", "kodim23"):
        path = BENCH / f"{name}.png"
        if path.is_file():
            found[name] = cv2.resize(read_rgb8(path), SIZE[::-1], interpolation=cv2.INTER_AREA)
        else:
            found[name] = synthetic_photo(*SIZE, seed=len(found) + 10)
    found["synthetic"] = synthetic_photo(*SIZE, seed=3)
    return found


def mask(kind: str, shape: tuple[int, ...], number: int) -> np.ndarray:
    return maskgen.generate(kind, shape[0], shape[1], np.random.default_rng([27, number]))


def cases() -> Iterator[tuple[str, Callable[[], np.ndarray]]]:
    """(name, the fill) of every case; fills run when called."""
    images = photos()
    for number, (name, image) in enumerate(images.items()):
        for k, kind in enumerate(maskgen.KINDS):
            hole = mask(kind, image.shape, 10 * number + k)
            for method in CLASSIC if number < 2 else ("telea",):
                yield (
                    f"{name}/{kind}/{method}",
                    lambda i=image, h=hole, m=method: fill(FillRequest(i, h, m)),
                )
            for seed in (None, 1) if number < 3 else (None,):
                yield (
                    f"{name}/{kind}/manifold/seed={seed}",
                    lambda i=image, h=hole, s=seed: fill(FillRequest(i, h, "manifold", seed=s)),
                )
    image = images["synthetic"]
    hole = mask("medium", image.shape, 99)
    options = {
        "net-only": ManifoldOptions(texture=False),
        "sliders": ManifoldOptions(sliders=(1.5, -1.0)),
        "blend": ManifoldOptions(blend=Blend(LatentSetting(4, (0.5,)), 0.4)),
        "refine": ManifoldOptions(refine_steps=2),
    }
    for label, option in options.items():
        yield (
            f"synthetic/medium/manifold/{label}",
            lambda o=option: fill(FillRequest(image, hole, "manifold", seed=2, options=o)),
        )
    yield (
        "synthetic/medium/manifold/grain",
        lambda: fill(FillRequest(image, hole, "manifold", seed=2, grain=True)),
    )
    yield (
        "synthetic/medium/telea/grain",
        lambda: fill(FillRequest(image, hole, "telea", seed=2, grain=True)),
    )
    yield from latent_cases(image, hole)
    yield from layout_cases(image)


def latent_cases(image: np.ndarray, hole: np.ndarray) -> Iterator[tuple[str, Callable]]:
    """The latent panel's session: settings, fusion and the untextured preview."""
    session: list[LatentSession] = []

    def engine() -> LatentSession:
        if not session:
            session.append(LatentSession(get_method("manifold"), image, hole))
        return session[0]

    a, b = LatentSetting(3, (1.0, -0.5)), LatentSetting(8, (0.0, 2.0))
    yield "latent/setting", lambda: engine().render_image(a)
    yield "latent/preview", lambda: engine().render_image(b, textured=False)
    yield "latent/blend", lambda: engine().compose(engine().render(a, blend=Blend(b, 0.3)))


def layout_cases(image: np.ndarray) -> Iterator[tuple[str, Callable]]:
    """Other dtypes and channel counts, and a photo large enough for the net's half scale."""
    wide = (image.astype(np.uint16) * 257)[..., [0, 1, 2, 0]]
    wide[..., 3] = np.linspace(20000, 65535, image.shape[1], dtype=np.uint16)[None, :]
    gray = image[..., :1].copy()
    hole = mask("thick", image.shape, 7)
    yield "rgba16/thick/telea", lambda: fill(FillRequest(wide, hole, "telea"))
    yield "rgba16/thick/manifold", lambda: fill(FillRequest(wide, hole, "manifold", seed=1))
    yield "gray/thick/biharmonic", lambda: fill(FillRequest(gray, hole, "biharmonic"))
    yield "gray/thick/manifold", lambda: fill(FillRequest(gray, hole, "manifold"))
    large = synthetic_photo(256, 384, seed=5)
    boxes = mask("box", large.shape, 11)
    for method in ("manifold", "biharmonic", "patchmatch"):
        yield f"large/box/{method}", lambda m=method: fill(FillRequest(large, boxes, m, seed=1))


def fingerprint(pixels: np.ndarray) -> str:
    digest = hashlib.sha256(str((pixels.shape, pixels.dtype.str)).encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the lines to this file")
    parser.add_argument("--quick", action="store_true", help="every fourth case only")
    args = parser.parse_args()
    lines, started = [], time.perf_counter()
    for number, (name, run) in enumerate(cases()):
        if args.quick and number % 4:
            continue
        line = f"{name} {fingerprint(run())}"
        print(line, flush=True)
        lines.append(line)
    print(f"{len(lines)} cases in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
