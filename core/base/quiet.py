"""Keeping the image libraries' chatter about damaged files off the user's terminal.

A damaged photo must give the user one clear line (our :class:`~core.base.errors.ImageReadError`),
not tifffile's log records, Pillow's warnings and libtiff's or libpng's prints first. They come
by three roads, each closed here:

* Python ``logging`` (tifffile): a ``NullHandler`` on the library's logger keeps Python's
  last-resort handler from printing it, while an application that configures logging still
  sees the records.
* Python ``warnings`` (Pillow, tifffile): ignored for warnings raised inside those packages.
* C code writing to file descriptor 2 (OpenCV's log, libtiff inside Pillow, libpng, libjpeg):
  OpenCV's log level is set to silent (unless ``OPENCV_LOG_LEVEL`` says otherwise), and
  :func:`c_stderr_captured` points fd 2 at a scratch file while a decoder runs.

Set ``MANIFOLD_INPAINT_DEBUG_DECODERS=1`` to let everything through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator

import cv2

log = logging.getLogger(__name__)

_DEBUG = os.environ.get("MANIFOLD_INPAINT_DEBUG_DECODERS", "") not in ("", "0")
_done = False


def silence_libraries() -> None:
    """Close the logging, warnings and OpenCV-log roads (once per process)."""
    global _done
    if _done or _DEBUG:
        return
    _done = True
    logging.getLogger("tifffile").addHandler(logging.NullHandler())
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
    warnings.filterwarnings("ignore", module=r"tifffile(\.|$)")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


class _Fd2Redirect:
    """fd 2 pointed at a scratch file while any thread is inside; restored when the last
    leaves. Reference counted, because decodes run on several threads at once in the editor:
    whatever other threads write to stderr meanwhile lands in the scratch file too, and goes
    to the debug log with the decoders' text (decodes are short; the price is small)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = -1
        self._sink: tempfile._TemporaryFileWrapper | None = None

    def enter(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            try:
                _flush_stderr()
                sink = tempfile.TemporaryFile()  # noqa: SIM115 (closed in leave())
                saved = os.dup(2)
                os.dup2(sink.fileno(), 2)
            except OSError:  # no fd 2 (a GUI app without a console), no temp space: skip
                return
            self._saved, self._sink = saved, sink

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth > 0 or self._sink is None:
                return
            sink, saved = self._sink, self._saved
            self._sink, self._saved = None, -1
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
        with sink:
            sink.seek(0)
            text = sink.read(1 << 16).decode("utf-8", "replace").strip()
        if text:
            log.debug("decoder output: %s", text)


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            sys.stderr.flush()


_REDIRECT = _Fd2Redirect()


@contextlib.contextmanager
def c_stderr_captured() -> Iterator[None]:
    """Run a decoder with what C code prints to fd 2 captured (logged at debug level)."""
    if _DEBUG:
        yield
        return
    _REDIRECT.enter()
    try:
        yield
    finally:
        _REDIRECT.leave()
