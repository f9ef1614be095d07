"""View-models: the editor's state and commands, no drawing.

Widgets (``app.widgets``) bind to their signals and call their methods; they talk to ``core``
through these modules only, one per engine feature: ``fill`` (the fill pipeline), ``latent``
(latent navigation), ``detect`` (damage detection), ``methods`` (which fill methods can run),
``session`` (reading and writing photos). Long work runs on ``app.worker``.
"""
