"""Dock panels around the canvas; each binds to a view-model and holds no engine logic."""
