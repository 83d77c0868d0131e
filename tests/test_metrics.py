import numpy as np
import pytest

from srcore.eval.metrics import psnr, rgb_to_y, score


def test_y_channel_is_bt601_matlab():
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    y = rgb_to_y(px)[0]
    assert (
        y[0] == pytest.approx(16.0)
        and y[1] == pytest.approx(235.0)
        and y[2] == pytest.approx(16 + 65.481)
    )


def test_score_crops_border_and_detects_error():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[:4] = 0  # damage only inside the 4-pixel border
    s = score(sr, hr, border=4)
    assert s["psnr_y"] == float("inf") and s["ssim_y"] == pytest.approx(1.0)
    assert score(sr, hr, border=0)["psnr_y"] < 30
    noisy = np.clip(hr.astype(int) + rng.integers(-8, 9, hr.shape), 0, 255).astype(np.uint8)
    s = score(noisy, hr, border=4)
    assert 25 < s["psnr_rgb"] < 40 and 0 < s["ssim_rgb"] < 1


def test_psnr_value_and_score_rejects_floats():
    a = np.zeros((8, 8)), np.full((8, 8), 255.0)
    assert psnr(*a) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="uint8"):
        score(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), 4)
