"""The fill pipeline, above the models: one request in, one result out.

``session`` (``FillRequest`` -> ``FillSession`` -> the filled image: regions, crops, methods,
paste-back), ``registry`` (method name -> method) and ``grain`` (the surroundings' film grain
on filled pixels). The CLI, the editor and the bench all fill through here.
"""
