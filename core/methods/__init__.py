"""Fill methods and their registry."""

from core.methods.base import CropContext, FillMethod
from core.methods.registry import (
    MethodInfo,
    default_method_name,
    describe_methods,
    get_method,
    method_class,
    method_names,
    register,
)

__all__ = [
    "CropContext",
    "FillMethod",
    "MethodInfo",
    "default_method_name",
    "describe_methods",
    "get_method",
    "method_class",
    "method_names",
    "register",
]
