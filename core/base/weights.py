"""Shipped model files: ``resources/models/manifest.json`` lists each model's safetensors file,
its JSON config and the file's sha256.

Loading checks the sha256 of the exact bytes it then parses, and safetensors holds only
tensors, so a model file can never run code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.base.errors import ModelError
from core.base.resources import MODELS_DIR

# safetensors.torch (torch: 2.1 s to import on the 2-core CPU) is imported when weights load:
# the editor and ``info`` read the manifest and check files at start without it.

MANIFEST_NAME = "manifest.json"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(models_dir: Path = MODELS_DIR) -> dict:
    path = models_dir / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(f"no model manifest at {path}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"the model manifest {path} is unreadable: {error}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), list):
        raise ModelError(f"the model manifest {path} has no 'models' list")
    return manifest


def model_entry(name: str, models_dir: Path = MODELS_DIR) -> dict:
    for entry in read_manifest(models_dir)["models"]:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise ModelError(f"model {name!r} is not listed in {models_dir / MANIFEST_NAME}")


def model_status(name: str, models_dir: Path = MODELS_DIR) -> tuple[bool, str]:
    """(usable, reason): the manifest entry and files exist, the weights' sha256 matches and
    they start like safetensors. Hashing is cached per file size and mtime, so asking again
    (the editor does before every fill) costs a ``stat``."""
    try:
        entry = model_entry(name, models_dir)
    except ModelError as error:
        return False, str(error)
    for key in ("file", "config"):
        if not (models_dir / str(entry.get(key, ""))).is_file():
            return False, f"model file {models_dir / str(entry.get(key))} is missing"
    try:
        check_weights_file(models_dir / str(entry["file"]), str(entry.get("sha256", "")))
    except ModelError as error:
        return False, str(error)
    return True, ""


_VERIFIED: dict[tuple[str, int, int, str], str] = {}  # (path, size, mtime_ns, sha) -> problem


def check_weights_file(path: Path, expected_sha256: str) -> None:
    """Raise :class:`ModelError` unless ``path`` has the expected sha256 and a safetensors
    header (8-byte little-endian length, then a JSON object)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise ModelError(f"cannot read model file {path}: {error.strerror or error}") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns, expected_sha256.lower())
    if key not in _VERIFIED:
        _VERIFIED[key] = _weights_problem(path, expected_sha256.lower())
    if _VERIFIED[key]:
        raise ModelError(_VERIFIED[key])


def _weights_problem(path: Path, expected: str) -> str:
    try:
        actual = sha256_file(path)
        with open(path, "rb") as handle:
            head = handle.read(9)
    except OSError as error:
        return f"cannot read model file {path}: {error.strerror or error}"
    if actual != expected:
        return (
            f"model file {path.name} does not match its manifest (sha256 {actual[:12]}..., "
            f"expected {expected[:12] or 'none'}...): it is truncated, corrupt or was replaced; "
            "restore it or re-export the model"
        )
    size = path.stat().st_size
    length = int.from_bytes(head[:8], "little") if len(head) == 9 else -1
    if not (0 < length <= size - 8) or head[8:9] != b"{":
        return f"model file {path.name} is not a safetensors file"
    return ""


def load_model_files(name: str, models_dir: Path = MODELS_DIR) -> tuple[dict, dict]:
    """(tensors by name, config dict) of model ``name``, after checking the file's sha256."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    entry = model_entry(name, models_dir)
    weights_path = models_dir / str(entry.get("file", ""))
    config_path = models_dir / str(entry.get("config", ""))
    try:
        data = weights_path.read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read model file {weights_path}: {error}") from None
    expected = str(entry.get("sha256", "")).lower()
    actual = sha256_bytes(data)
    if actual != expected:
        raise ModelError(
            f"model file {weights_path} does not match its manifest (sha256 {actual[:12]}..., "
            f"expected {expected[:12] or 'none'}...): it is corrupt or was replaced; "
            "restore it or re-export the model"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read model config {config_path}: {error}") from None
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ModelError(f"model file {weights_path} is not valid safetensors: {error}") from None
    return tensors, config


def write_manifest_entry(entry: dict, models_dir: Path = MODELS_DIR) -> Path:
    """Add or replace the entry named ``entry['name']``, keeping the others."""
    path = models_dir / MANIFEST_NAME
    manifest = read_manifest(models_dir) if path.is_file() else {"models": []}
    models = [m for m in manifest["models"] if m.get("name") != entry["name"]]
    models.append(entry)
    manifest["models"] = sorted(models, key=lambda m: m["name"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
