"""The ground floor: conventions and I/O that every other part of ``core`` builds on.

``errors`` (the errors a user can fix), ``pixels`` (``Box``, float RGB and back, the
manifold net's initial fill), ``progress`` (long work as generators), ``imageio`` and ``quiet``
(files in and out, the decoders kept quiet), ``masks`` and ``maskgen`` (hole masks and seeded
damage masks), ``metrics`` (quality measures), ``cpu`` and ``device`` (threads, allocator,
torch device), ``resources`` and ``weights`` (shipped files; the sha256-checked model weights),
``recovery`` (the editor's crash-recovery files). Nothing here imports another floor.
"""
