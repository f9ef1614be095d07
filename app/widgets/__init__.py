"""Widgets: the canvas, its tools and the dock panels. They bind to view-models
(``app.viewmodels``) and hold no engine logic."""
