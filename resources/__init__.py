"""Files the program ships: icons, model weights and their manifest, the sample photo.

Installed as the package ``manifold_inpaint_resources``; :mod:`core.base.resources` finds them.
"""
