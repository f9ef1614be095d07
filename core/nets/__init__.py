"""PyTorch networks used by the learned fill methods (imported lazily: torch is heavy)."""
