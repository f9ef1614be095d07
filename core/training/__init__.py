"""What every model's training shares: the loop (``loop``): resume, checkpoints, logging,
validation, bf16 autocast, distributed processes; and the shipped model files
(``model_files``): a checkpoint read for export, the safetensors + JSON + manifest entry
written. The models' own parts live with them:
``core.manifold.train``, ``core.layout.train`` and ``core.detect.train``."""
