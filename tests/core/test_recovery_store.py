"""core.base.recovery: what the autosave writes, that it restores exactly, and that a crash in the
middle of a write never loses the previous autosave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.base import recovery
from core.base.imageio import Image, write_image
from core.base.recovery import RecoveredDocument, RecoveryStore, SourceStamp, diff_patches

SCAN = np.full((300, 400, 3), 1000, np.uint16)  # the photo's pixels


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "scan.tif"
    write_image(Image(SCAN), path)
    return path


@pytest.fixture
def store(tmp_path: Path) -> RecoveryStore:
    return RecoveryStore(tmp_path / "recovery")


def save(store: RecoveryStore, stamp: SourceStamp, mask: np.ndarray, patches: list | None) -> Path:
    """Autosave the scan's mask and ``patches`` (None: keep the previous ones)."""
    return store.save(stamp, "scan.tif", mask, patches, SCAN.shape, "uint16")


def orphaned(store: RecoveryStore) -> None:
    """Make ``store`` look like the files of an editor that was killed."""
    owner = store.folder / recovery.OWNER_NAME
    data = json.loads(owner.read_text())
    data["pid"] = 999_999_999  # beyond any pid_max: no such process
    owner.write_text(json.dumps(data))


def reopened(store: RecoveryStore) -> RecoveredDocument:
    """The one document the next editor finds after ``store``'s editor was killed."""
    orphaned(store)
    [entry] = RecoveryStore(store.root).orphans()
    return entry


def test_data_dir_follows_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(recovery.DATA_DIR_ENV, str(tmp_path / "d"))
    assert recovery.recovery_root() == tmp_path / "d" / "recovery"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_scattered_changes_become_small_patches_that_rebuild_the_image(dtype: type) -> None:
    rng = np.random.default_rng(0)
    original = (rng.random((1000, 1500, 3)) * (1 if dtype == np.float32 else 200)).astype(dtype)
    image = original.copy()
    for y, x in [(10, 10), (500, 700), (990, 1490), (300, 1200)]:
        image[y : y + 5, x : x + 7] += dtype(1)
    patches = diff_patches(original, image)
    assert len(patches) == 4
    assert sum(p.shape[0] * p.shape[1] for p, _ in patches) <= 4 * 128 * 128  # not the photo
    rebuilt = original.copy()
    for pixels, (y0, y1, x0, x1) in patches:
        rebuilt[y0:y1, x0:x1] = pixels
    np.testing.assert_array_equal(rebuilt, image)
    assert diff_patches(original, original) == []


def test_an_orphan_restores_mask_and_fill_exactly(store: RecoveryStore, photo: Path) -> None:
    image = SCAN.copy()
    image[50:60, 70:90] = 123
    mask = np.zeros((300, 400), bool)
    mask[52:58, 72:88] = True
    save(store, SourceStamp.of(photo), mask, diff_patches(SCAN, image))
    assert RecoveryStore(store.root).orphans() == []  # its editor (this process) still runs
    entry = reopened(store)
    assert entry.source.unchanged() and entry.title == "scan.tif"
    np.testing.assert_array_equal(entry.load_mask(), mask)
    np.testing.assert_array_equal(entry.load_image(SCAN), image)


def test_a_mask_only_save_keeps_the_previous_patches(store: RecoveryStore, photo: Path) -> None:
    image = SCAN.copy()
    image[5:9, 5:9] = 7
    mask = np.zeros((300, 400), bool)
    stamp = SourceStamp.of(photo)
    save(store, stamp, mask, diff_patches(SCAN, image))
    mask[100:110] = True
    folder = save(store, stamp, mask, None)
    entry = reopened(store)
    np.testing.assert_array_equal(entry.load_mask(), mask)
    np.testing.assert_array_equal(entry.load_image(SCAN), image)
    assert len(list(folder.glob("mask-*.png"))) == 1  # the old generation was removed


def test_a_crash_in_the_middle_of_a_save_keeps_the_previous_autosave(
    store: RecoveryStore, photo: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    first = np.zeros((300, 400), bool)
    first[1:3] = True
    stamp = SourceStamp.of(photo)
    save(store, stamp, first, [])

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed while writing the patch")  # as abrupt as it gets

    image = SCAN.copy()
    image[10:20, 10:20] = 0
    monkeypatch.setattr(recovery, "write_image", killed)
    second = first.copy()
    second[200:] = True
    with pytest.raises(KeyboardInterrupt):
        save(store, stamp, second, diff_patches(SCAN, image))
    entry = reopened(store)
    np.testing.assert_array_equal(entry.load_mask(), first)  # the last complete autosave
    assert entry.load_image(SCAN) is None


def test_a_changed_source_is_detected(tmp_path: Path, photo: Path) -> None:
    stamp = SourceStamp.of(photo)
    assert stamp.unchanged()
    write_image(Image(np.zeros((300, 400, 3), np.uint16)), photo, overwrite=True)
    assert not stamp.unchanged()
    photo.unlink()
    assert not stamp.unchanged()


def test_foreign_or_broken_entries_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "recovery"
    (root / "123-abcd" / "doc").mkdir(parents=True)
    (root / "123-abcd" / "doc" / "entry.json").write_text("{not json")
    (root / "notes.txt").write_text("hello")
    assert RecoveryStore(root).orphans() == []
