"""Package layout that pyproject.toml cannot say: the checkout's top-level ``resources/`` folder
ships as the package ``manifold_inpaint_resources`` (found with ``importlib.resources``), a name
no other distribution will install over, unlike a bare ``resources``."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["app", "app.*", "core", "core.*"]),
        "manifold_inpaint_resources",
    ],
    package_dir={"manifold_inpaint_resources": "resources"},
)
