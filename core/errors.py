"""Errors the engine raises for bad input. Their message is meant for the user, as is."""


class InpaintError(Exception):
    """Base class: a problem the user can understand and fix (bad file, wrong mask, ...)."""


class ImageReadError(InpaintError):
    """The file could not be read as an image."""


class ImageWriteError(InpaintError):
    """The image could not be written."""


class MaskError(InpaintError):
    """The mask is unusable for this image."""


class ModelError(InpaintError):
    """A model file is missing, corrupt, or does not match its manifest."""
