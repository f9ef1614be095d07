"""Errors the engine raises for bad input. Their message is meant for the user, as is."""


class InpaintError(Exception):
    """Base class: a problem the user can understand and fix (bad file, wrong mask, ...)."""


class ImageReadError(InpaintError):
    """The file could not be read as an image."""


class ImageTooLargeError(ImageReadError):
    """The image has more pixels than the limit allows (a decompression-bomb guard); the
    caller may offer to open it anyway with a higher limit."""

    def __init__(self, message: str, width: int, height: int) -> None:
        super().__init__(message)
        self.width, self.height = width, height


class ImageWriteError(InpaintError):
    """The image could not be written."""


class MaskError(InpaintError):
    """The mask is unusable for this image."""


class ModelError(InpaintError):
    """A model file is missing, corrupt, or does not match its manifest."""
