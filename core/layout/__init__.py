"""The layout manifold: a small VAE of whole photos at low resolution.

A photo's large-scale structure (where the sky, ground, masses, light and colours are) as a
latent code: ``net`` (the network), ``data`` (training crops of whole photos), ``train`` (its
task for the shared training loop), ``export`` (the shipped weights), ``model`` (loading and
encode / decode / sample) and ``generate`` (generation and fusion of full-resolution pictures:
the decoded layout guides texture taken from an exemplar photo). Qt-free.
"""
