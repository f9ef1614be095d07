"""The latent prior used for sampling: a Gaussian fitted to the training photos' codes.

A VAE's codes of real photos do not fill its standard-normal prior evenly (the "holes" that
make plain prior samples blurry or odd); a Gaussian fitted afterwards to the aggregate
posterior (the mixture of q(z | photo) over the training photos) puts samples where photos are
(ex-post density estimation, Ghosh et al. 2020, "From Variational to Deterministic
Autoencoders"). Its principal axes, largest variance first, are the editor's sliders: the
whitened code ``w`` (standard normal under this prior) is ``z = mean + basis @ w``.
"""

from __future__ import annotations

import numpy as np


def fit_prior(mu: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), basis (d, d)) of the Gaussian matching the mixture of N(mu_i, diag var_i):
    covariance = cov(mu) + mean(var); basis = eigenvectors x sqrt(eigenvalues), largest
    first, each axis's sign fixed so its largest entry is positive (reproducible sliders)."""
    mu = np.asarray(mu, np.float64)
    mean = mu.mean(axis=0)
    cov = np.cov(mu, rowvar=False) + np.diag(np.asarray(var, np.float64).mean(axis=0))
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = np.maximum(values[order], 1e-8), vectors[:, order]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])])
    basis = vectors * signs * np.sqrt(values)
    return mean.astype(np.float32), basis.astype(np.float32)


def whiten(z: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Codes (..., d) -> whitened codes."""
    return np.linalg.solve(basis, (np.asarray(z, np.float64) - mean).T).T.astype(np.float32)


def unwhiten(w: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return (np.asarray(w, np.float32) @ basis.T + mean).astype(np.float32)
