"""``info``: versions, devices and fill methods available here."""

from __future__ import annotations

import argparse
import platform

import core
from core.base.errors import ModelError

# The engine is imported inside the functions: start-up cost, see core/commands/__init__.py.


HELP = "show versions, devices and available models"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``info`` takes no arguments."""


def run(args: argparse.Namespace) -> int:
    import cv2
    import numpy
    import torch

    from core.base.device import available_devices, resolve_device
    from core.pipeline.registry import default_method_name, describe_methods

    print(f"manifold-inpaint {core.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"torch {torch.__version__}, numpy {numpy.__version__}, opencv {cv2.__version__}")
    if torch.cuda.is_available():
        print(f"cuda {torch.version.cuda}: {torch.cuda.get_device_name(0)}")
    print(f"devices: {', '.join(available_devices())} (auto -> {resolve_device('auto')})")
    print("methods:")
    default = default_method_name()
    for info in describe_methods():
        state = "ready" if info.available else f"unavailable: {info.reason}"
        marker = " (default)" if info.name == default else ""
        print(f"  {info.name:<10} {info.description}{marker} [{state}]")
    _print_models()
    return 0


def _print_models() -> None:
    """Each shipped model's state: its files present, their sha256 checked against the manifest."""
    from core.base import resources
    from core.base.weights import model_status, read_manifest

    print(f"models ({resources.MODELS_DIR}):")
    try:
        names = [str(m.get("name")) for m in read_manifest(resources.MODELS_DIR)["models"]]
    except ModelError as error:
        print(f"  none: {error}")
        return
    for name in names:
        usable, reason = model_status(name, resources.MODELS_DIR)
        print(f"  {name:<10} {'ready (sha256 checked)' if usable else f'unavailable: {reason}'}")
