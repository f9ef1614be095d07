"""The manifold model, in one place: the network (``net``), the fill method (``method``), what a
fill can be asked (``options``), the latent's directions (``directions``), training data
(``data``), training (``train``, ``adversarial``, ``guide_bench``) and export (``export``).
The latent panel's session, a caller of the pipeline, is ``core.pipeline.latent``."""
