"""View-models: the editor's state and commands, no drawing.

Widgets (``app.widgets``) bind to their signals and call their methods; they talk to ``core``
through these modules only, one per engine feature: ``fill`` (the fill pipeline), ``detect``
(damage detection), ``latent_fill`` (the latent fill of a mask), ``layout`` (generation and
fusion with the layout model), ``methods`` (which fill methods can run), ``session`` (reading
and writing photos), ``autosave`` (crash recovery). ``latent`` is the latent panel's: each
document's seed and sliders, handed to ``latent_fill`` for a photo and to ``generated`` for a
generated picture. ``document``, ``masks`` and ``commands`` hold a photo, its mask edits and
the undo steps. Long work runs on ``app.worker``, through ``jobs.JobViewModel`` (busy,
progress, status, error, cancel), which the fill, detect, layout and latent fill view-models
share.
"""
