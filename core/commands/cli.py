"""Command-line interface: ``python main.py COMMAND ...`` (also the ``manifold-inpaint`` script).

Errors the user can fix are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from core.base.errors import InpaintError
from core.commands import bench, detect, fill, fuse, generate, info, train

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
    # main.py opens the editor on anything that is not a command or an option; the usage
    # says so, since argparse never sees that argument.
    parser = argparse.ArgumentParser(
        prog="manifold-inpaint",
        usage="%(prog)s [PHOTO | FOLDER]\n       %(prog)s COMMAND ...",
        description=(
            "Photo restoration and inpainting. With no command it opens the editor: on PHOTO, "
            "on the first photo of FOLDER (PgUp / PgDn go through the others), or with "
            "neither on the sample photo at the first launch."
        ),
    )
    # prog given: argparse would otherwise build the commands' prog from the usage above.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog=parser.prog)
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
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
