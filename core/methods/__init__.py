"""Fill methods: the interface (``base``), a crop's geometry for every method (``geometry``)
and the classical fills (``classical``).

The name -> method mapping is ``core.pipeline.registry``; the learned method lives with the rest
of the manifold model in ``core.manifold``.
"""
