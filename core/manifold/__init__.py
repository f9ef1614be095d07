"""The manifold model, in one place: the network (``net``), the fill method (``method``), what a
fill can be asked (``options``), the latent's directions (``directions``) and the latent
panel's session (``latent``), training data (``data``), training (``train``) and export
(``export``)."""
