"""Manifold Inpaint engine: image I/O, masks, fill methods, models and training.

This package never imports Qt (checked by import-linter and tests/core/test_architecture.py).
Its folders are floors; each imports only the floors below it (import-linter's ``layers``
contract in pyproject.toml):

* ``commands/``: the command line (``cli`` and one module per subcommand); ``bench`` beside it.
* ``pipeline/``: the fill - one request, one session, one result; method names.
* ``manifold/``, ``layout/``, ``detect/``: the three learned models, each in one package;
  ``perceptual`` (a judge's distance) and ``methods/`` (the fill-method interface, the
  classical fills) below them; ``texture/``, ``pretrained/`` and ``training/`` at the bottom.
* ``base/``: the ground floor - conventions and I/O.

In-memory conventions, used everywhere:

* image: ``numpy.ndarray`` of shape ``(H, W, C)``, ``C`` in ``{1, 2, 3, 4}`` (gray, gray+alpha,
  RGB, RGBA - always RGB order, never BGR), dtype ``uint8``, ``uint16`` or ``float32`` kept
  from the file (float images hold values in ``[0, 1]``).
* mask: ``numpy.ndarray`` of shape ``(H, W)`` and dtype ``bool``; ``True`` marks a hole pixel
  (damage to fill).
* inside fill methods: ``float32`` RGB in ``[0, 1]``, shape ``(h, w, 3)``.
"""

__version__ = "0.1.0"
