"""Guided texture synthesis: fill a hole with the photo's own patches, following a guide.

One entry point, ``synthesize_steps(image, hole, guide, seed, options=...)``: a generator of
``core.base.progress.Progress`` returning the filled image. Qt-free and torch-free (numba kernels).
See ``docs/texture.md``.
"""

from core.texture.synth import TextureOptions, synthesize_steps

__all__ = ["TextureOptions", "synthesize_steps"]
