"""``detect``: propose a damage mask (scratches, cracks, dust) for an image or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.base.errors import InpaintError

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "find scratches, cracks and dust; write a damage mask"
DESCRIPTION = (
    "Write a grayscale PNG mask (255 = damage) of INPUT: the pixels a fill "
    "would replace, i.e. the detected damage grown by its soft edge, exactly the mask "
    "`fill --auto-mask` fills and the editor's Accept adds. INPUT may be a folder: OUTPUT "
    "is then a folder and gets <stem>.png for every image."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="INPUT", help="image file or folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="mask file or folder")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="probability threshold in [0, 1] (default: the method's calibrated one; "
        "lower finds more)",
    )
    parser.add_argument(
        "--method",
        choices=("auto", "net", "classical"),
        default="auto",
        help="auto (default) uses the net, or the classical detector if the net is unusable",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing output files (never inputs)"
    )


def plan(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """(image, mask path) pairs; refuses to write over inputs."""
    from core.base.imageio import list_images

    if not source.exists():
        raise InpaintError(f"{source} does not exist")
    if source.is_file():
        target = output / f"{source.stem}.png" if output.is_dir() else output
        if target.suffix.lower() != ".png":
            raise InpaintError(f"the mask is written as PNG: name it {target.stem}.png")
        pairs = [(source, target)]
    else:
        if output.exists() and not output.is_dir():
            raise InpaintError(f"INPUT is a folder, so OUTPUT must be a folder; {output} is a file")
        images = list_images(source)
        if not images:
            raise InpaintError(f"no images found in {source}")
        pairs = [(p, output / f"{p.stem}.png") for p in images]
    targets = [t for _, t in pairs]
    if len(set(targets)) < len(targets):
        twice = sorted({t.name for t in targets if targets.count(t) > 1})
        raise InpaintError(f"several images would write the same mask: {', '.join(twice)}")
    inputs = {p.resolve() for p, _ in pairs}
    for _, target in pairs:
        if target.resolve() in inputs:
            raise InpaintError(f"refusing to write over the input file {target}")
    return pairs


def detect_file(image_path: Path, args: argparse.Namespace):
    """Read ``image_path`` and detect its damage (also used by ``fill --auto-mask``)."""
    from core.base.imageio import read_image
    from core.detect import detect

    image = read_image(image_path)
    return image, detect(image.pixels, method=args.method, threshold=args.threshold)


def run(args: argparse.Namespace) -> int:
    from core.base.masks import save_mask
    from core.detect import FILL_GROW, fill_mask, proposed_share

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise InpaintError("--threshold must be between 0 and 1")
    pairs = plan(args.input, args.output)
    for _, target in pairs:
        if target.exists() and not args.overwrite:
            raise InpaintError(f"{target} exists; pass --overwrite to replace it")
    failures, notes = 0, set()
    for image_path, target in pairs:
        try:
            _, result = detect_file(image_path, args)
            mask = fill_mask(result)
            target.parent.mkdir(parents=True, exist_ok=True)
            save_mask(mask, target, overwrite=args.overwrite)
        except InpaintError as error:
            if len(pairs) == 1:
                raise
            failures += 1
            print(f"error: {image_path.name}: {error}", file=sys.stderr)
            continue
        if result.note and result.note not in notes:
            notes.add(result.note)
            print(f"note: {result.note}", file=sys.stderr)
        print(
            f"{target}: {proposed_share(mask):.2%} of the photo proposed (the pixels a fill "
            f"replaces: detected damage grown by {FILL_GROW} px; {result.method}, threshold "
            f"{result.threshold:.3f})"
        )
    return 1 if failures else 0
