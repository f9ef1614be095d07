"""Command-line interface: ``python main.py COMMAND ...`` (also the ``manifold-inpaint`` script).

Errors the user can fix are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from core.commands import bench, detect, fill, fuse, generate, info, train
from core.errors import InpaintError

# Subcommand name -> module, in the order ``--help`` lists them.
COMMANDS = {
    "fill": fill,
    "generate": generate,
    "fuse": fuse,
    "train": train,
    "bench": bench,
    "detect": detect,
    "info": info,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manifold-inpaint",
        description="Photo restoration and inpainting. Run with no command to open the editor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except InpaintError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
