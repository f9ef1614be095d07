"""``generate``: a new picture from the layout manifold, textured from an exemplar photo.

Examples::

    python main.py generate -o new.png --seed 7
    python main.py generate -o new.png --seed 7 --texture photo.jpg --size 768x512
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.base.errors import InpaintError
from core.commands.console import drive

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "generate a new picture from the layout manifold"
DESCRIPTION = (
    "Decode the layout code of a seed (a photo's large-scale structure: sky, "
    "ground, masses, light, colours) and texture it with patches of an exemplar photo. "
    "The same seed, size and exemplar give the same picture."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True, help="output image file")
    parser.add_argument("--seed", type=int, default=0, help="which picture (default 0)")
    parser.add_argument(
        "--texture",
        type=Path,
        metavar="PHOTO",
        help="exemplar photo whose patches give the texture (default: the bundled sample)",
    )
    parser.add_argument("--size", default="512x512", help="WxH of the output (default 512x512)")
    parser.add_argument(
        "--slider",
        type=float,
        action="append",
        default=[],
        metavar="VALUE",
        help="move the layout along its next principal axis by VALUE prior std (repeatable)",
    )
    parser.add_argument(
        "--colour-match",
        type=float,
        default=0.5,
        metavar="SHARE",
        help="move the layout's colours this share of the way to the exemplar's palette "
        "(0-1, default 0.5)",
    )
    parser.add_argument(
        "--layout-only", action="store_true", help="write the upsampled layout, untextured"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    from core.layout.generate import Generation, generate_steps, load_exemplar, parse_size
    from core.layout.model import LayoutModel

    width, height = parse_size(args.size)
    check_output(args.output, args.overwrite, [args.texture])
    generation = Generation(
        args.seed, width, height, tuple(args.slider), not args.layout_only, args.colour_match
    )
    exemplar = None if args.layout_only else load_exemplar(args.texture)
    model = LayoutModel.load()
    result = drive(generate_steps(model, generation, exemplar), "generate")
    save(result, args.output, args.overwrite)
    print(f"{args.output}: {width}x{height}, {generation.describe()}")
    return 0


def check_output(output: Path, overwrite: bool, inputs: list[Path | None]) -> None:
    """Refuse before any work: an output that is an input, or exists without --overwrite."""
    from core.base.imageio import SUPPORTED_SUFFIXES

    if output.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InpaintError(f"cannot save {output.name}: use one of {', '.join(SUPPORTED_SUFFIXES)}")
    for source in inputs:
        if source is not None and output.exists() and output.resolve() == source.resolve():
            raise InpaintError(f"{output} is an input; choose another output")
    if output.exists() and not overwrite:
        raise InpaintError(f"{output} exists; pass --overwrite to replace it")
    if not output.parent.is_dir():
        raise InpaintError(f"cannot save {output.name}: the folder {output.parent} does not exist")


def save(result, output: Path, overwrite: bool) -> None:
    import numpy as np

    from core.base.imageio import Image, write_image
    from core.base.pixels import from_float

    write_image(Image(from_float(result, np.uint8)), output, overwrite=overwrite)
