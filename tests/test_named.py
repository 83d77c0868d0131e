"""The named degradations evaluation scores: each what its name says, fixed per image name."""

import io

import numpy as np
import pytest
from PIL import Image

from srcore.config.schema import EVAL_DEGRADATIONS, REALESRGAN, RealConfig
from srcore.data import named
from srcore.data.degrade import degrade, upsample
from srcore.data.realworld import generator, name_key, real_degrade
from tests.helpers.images import smooth_image

HR = smooth_image(96, 128, seed=3)
CLEAN_LR = degrade(HR, 4)[1]


def _lr(degradation: str, name: str = "a.png", seed: int = 0) -> np.ndarray:
    """The y0 (the LR's bicubic enlargement) of HR under a named degradation."""
    hr, y0 = named.degrade_named(HR, 4, degradation, RealConfig(), name, seed)
    assert hr.shape == y0.shape == degrade(HR, 4)[0].shape
    return y0


def test_bicubic_is_the_textbook_degradation_bit_for_bit():
    assert np.array_equal(_lr("bicubic"), degrade(HR, 4)[2])


@pytest.mark.parametrize("name, cfg", [("real", RealConfig()), ("realesrgan", REALESRGAN)])
def test_the_pipelines_draw_from_their_own_ranges_keyed_by_name(name, cfg):
    expected = real_degrade(HR, 4, cfg, generator(0, name_key("a.png")))[2]
    assert np.array_equal(_lr(name), expected)
    assert not np.array_equal(_lr(name), _lr(name, "b.png"))
    assert not np.array_equal(_lr(name), _lr(name, seed=1))


def test_jpeg_is_the_clean_lr_saved_at_quality_75():
    buf = io.BytesIO()
    Image.fromarray(CLEAN_LR).save(buf, format="JPEG", quality=75)
    expected = upsample(np.asarray(Image.open(buf).convert("RGB")), 4)
    assert np.array_equal(_lr("jpeg"), expected)


def test_noise_has_a_deviation_of_five_levels_fixed_per_name():
    lr = named.everyday_lr(np.full((64, 64, 3), 128, np.uint8), "noise", generator(0, 1))
    assert lr.astype(float).std() == pytest.approx(5.0, rel=0.05)
    assert np.array_equal(_lr("noise"), _lr("noise")) and not np.array_equal(
        _lr("noise"), _lr("noise", "b.png")
    )


def test_blur_softens_the_clean_lr_and_blur_jpeg_adds_the_jpeg():
    impulse = np.zeros((15, 15, 3), np.uint8)
    impulse[7, 7] = 255
    spread = named.everyday_lr(impulse, "blur", generator(0)).astype(float)[..., 0]
    y, x = np.mgrid[-7:8, -7:8]
    variance = (spread * (x**2)).sum() / spread.sum()
    assert variance == pytest.approx(named.BLUR_SIGMA**2, rel=0.15)
    blurred = named.everyday_lr(CLEAN_LR, "blur", generator(0))
    buf = io.BytesIO()
    Image.fromarray(blurred).save(buf, format="JPEG", quality=75)
    both = named.everyday_lr(CLEAN_LR, "blur_jpeg", generator(0))
    assert np.array_equal(both, np.asarray(Image.open(buf).convert("RGB")))


def test_every_name_gives_its_own_lr():
    y0s = {d: _lr(d).tobytes() for d in EVAL_DEGRADATIONS}
    assert len(set(y0s.values())) == len(EVAL_DEGRADATIONS)


@pytest.mark.parametrize("degradation", EVAL_DEGRADATIONS)
def test_the_lr_is_what_the_evaluations_y0_is_enlarged_from(degradation):
    hr, lr = named.lr_named(HR, 2.5, degradation, RealConfig(), "a.png", 4)
    hr_y0, y0 = named.degrade_named(HR, 2.5, degradation, RealConfig(), "a.png", 4)
    assert lr.shape == (38, 51, 3) and np.array_equal(hr, hr_y0)  # 96 x 128 at x2.5
    assert np.array_equal(upsample(lr, 2.5), y0)
