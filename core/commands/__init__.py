"""The top floor: the command line. ``cli`` parses ``python main.py COMMAND ...`` and hands it
to one module per subcommand; each has ``add_parser(subparsers)`` and ``run(args) -> int`` and
only turns arguments into the floors' requests."""
