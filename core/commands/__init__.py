"""The top floor: the command line. ``cli`` parses ``python main.py COMMAND ...`` and hands it
to one module per subcommand; each has ``HELP``, ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> int`` (``cli`` builds the subcommand's parser from them) and only turns
arguments into the floors' requests.

The command modules import the engine inside their functions, not at the top: ``main.py``
imports all of them at every start, the editor's included, to tell a command from a photo
(91 ms with ``--help``), and at the top their imports would add numpy and OpenCV (0.2 s),
torch (2.1 s) and numba (0.6 s) to every start (2-core CPU).
"""
