"""Sliding windows of Wang et al. (Adv. Sci. 2020): counts, positions, content, errors."""

import numpy as np
import pytest

from mag_ml.data.windows import sliding_windows, window_count


@pytest.mark.parametrize("shape, size, stride", [((64, 64), 32, 8), ((70, 45), 32, 8), ((40, 33), 8, 5),
                                                 ((32, 32), 32, 8), ((9, 12), 3, 1)])
def test_counts_positions_and_content(shape, size, stride):
    rng = np.random.default_rng(0)
    img = rng.normal(size=(2,) + shape)
    win, pos = sliding_windows(img, size, stride)
    rows, cols = (shape[0] - size) // stride + 1, (shape[1] - size) // stride + 1
    assert window_count(shape, size, stride) == (rows, cols, rows * cols)
    assert win.shape == (rows * cols, 2, size, size) and pos.shape == (rows * cols, 2)
    assert set(pos[:, 0]) == set(range(0, stride * rows, stride))
    assert set(pos[:, 1]) == set(range(0, stride * cols, stride))
    assert len({tuple(p) for p in pos}) == rows * cols
    for k, (r, c) in enumerate(pos):
        np.testing.assert_array_equal(win[k], img[:, r:r + size, c:c + size])
    assert pos[:, 0].max() + size <= shape[0] and pos[:, 1].max() + size <= shape[1]


def test_paper_count_and_batches():
    assert window_count((512, 512))[2] == 61 * 61  # 3721 windows per paper image
    img = np.arange(3 * 2 * 40 * 48, dtype=np.float32).reshape(3, 2, 40, 48)
    win, pos = sliding_windows(img, 32, 8)
    assert win.shape == (3, 2 * 3, 2, 32, 32) and win.dtype == np.float32
    for n in range(3):
        np.testing.assert_array_equal(win[n], sliding_windows(img[n], 32, 8)[0])


def test_errors():
    img = np.zeros((1, 40, 40))
    with pytest.raises(ValueError, match="smaller than a window"):
        sliding_windows(np.zeros((1, 31, 64)), 32, 8)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        sliding_windows(img, 0, 8)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        sliding_windows(img, 8, -1)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        sliding_windows(np.zeros((40, 40)), 8, 8)
    with pytest.raises(ValueError, match="must have 3 channel"):
        sliding_windows(img, 8, 8, channels=3)
