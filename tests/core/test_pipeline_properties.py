"""Property tests of the fill pipeline over random sizes, dtypes, channels and masks."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.methods.geometry import BLEND_BAND
from core.pipeline.session import FillRequest, fill
from tests.core.test_pipeline import far_from_hole

DTYPES = {
    "uint8": (np.uint8, 255),
    "uint16": (np.uint16, 65535),
    "float32": (np.float32, 1.0),
}


@st.composite
def image_and_mask(draw):
    height = draw(st.integers(1, 48))
    width = draw(st.integers(1, 48))
    channels = draw(st.sampled_from([1, 2, 3, 4]))
    dtype, top = DTYPES[draw(st.sampled_from(sorted(DTYPES)))]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        image = rng.random((height, width, channels), dtype=np.float32)
    else:
        image = rng.integers(0, top, (height, width, channels), endpoint=True).astype(dtype)
    mask = draw(arrays(np.bool_, (height, width), elements=st.booleans()))
    return image, mask


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=image_and_mask(), method=st.sampled_from(["telea", "ns"]))
def test_shape_dtype_kept_and_nothing_changes_beyond_the_band(case, method):
    image, mask = case
    out = fill(FillRequest(image, mask, method))
    assert out.shape == image.shape and out.dtype == image.dtype
    keep = far_from_hole(mask, BLEND_BAND)
    np.testing.assert_array_equal(out[keep], image[keep])
    if image.dtype == np.float32:
        assert np.isfinite(out).all()


@settings(max_examples=40, deadline=None)
@given(
    specks=st.lists(
        st.tuples(st.integers(0, 99), st.integers(0, 149), st.integers(1, 3)),
        min_size=1,
        max_size=80,
    )
)
def test_many_tiny_regions_touching_borders(specks):
    image = (np.random.default_rng(0).random((100, 150, 3)) * 255).astype(np.uint8)
    mask = np.zeros((100, 150), bool)
    for y, x, size in specks:
        mask[y : y + size, x : x + size] = True
    out = fill(FillRequest(image, mask, "telea"))
    keep = far_from_hole(mask)
    np.testing.assert_array_equal(out[keep], image[keep])
