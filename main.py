"""Manifold Inpaint entry point.

``python main.py`` opens the editor, ``python main.py PHOTO`` opens it on a photo and
``python main.py FOLDER`` on the folder's first photo (PgUp / PgDn go through the others);
``python main.py COMMAND ...`` runs the headless engine (``fill``, ``train``, ``bench``,
``detect``, ``info``; see ``--help``).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from core.commands.cli import COMMANDS

    if not args or (args[0] not in COMMANDS and not args[0].startswith("-")):
        if len(args) > 1:
            print("error: the editor opens one photo or folder (see --help)", file=sys.stderr)
            return 2
        from app.app import run_editor

        return run_editor(args[0] if args else None)
    from core.commands.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
