"""``fuse``: a picture between two photos on the layout manifold.

Examples::

    python main.py fuse a.jpg b.jpg -o between.png --t 0.5
    python main.py fuse a.jpg b.jpg -o between.png --t 0.3 --texture a --size 768x512
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.commands.console import drive
from core.commands.generate import check_output, save

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "fuse two photos: a picture between them on the layout manifold"
DESCRIPTION = (
    "Encode both photos' layouts, blend the codes spherically (t = 0: A's, "
    "t = 1: B's), decode, and texture the result with patches of A, B or both."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, metavar="A", help="first photo")
    parser.add_argument("b", type=Path, metavar="B", help="second photo")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output image file")
    parser.add_argument("--t", type=float, default=0.5, help="0 = A, 1 = B (default 0.5)")
    parser.add_argument(
        "--texture",
        choices=("a", "b", "both", "none"),
        default="both",
        type=str.lower,
        help="whose patches give the texture (default both; none: the layout alone)",
    )
    parser.add_argument("--size", help="WxH of the output (default: A's shape, long side 512)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the texture synthesis")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    from core.layout.generate import check_t, fuse_steps, load_exemplar, parse_size
    from core.layout.model import LayoutModel

    check_t(args.t)
    size = parse_size(args.size) if args.size else None
    check_output(args.output, args.overwrite, [args.a, args.b])
    a, b = load_exemplar(args.a), load_exemplar(args.b)
    model = LayoutModel.load()
    result = drive(fuse_steps(model, a, b, args.t, args.texture, size, args.seed), "fuse")
    save(result, args.output, args.overwrite)
    print(
        f"{args.output}: {result.shape[1]}x{result.shape[0]}, t {args.t:g} between "
        f"{args.a.name} and {args.b.name}"
    )
    return 0
