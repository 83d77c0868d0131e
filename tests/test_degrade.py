import numpy as np
import pytest
from PIL import Image

from srcore.common.images import read_image
from srcore.data.degrade import (
    applied_scale,
    degrade,
    hr_side,
    lr_side,
    mod_crop,
    patch_y0,
    upsample,
)
from srcore.eval.metrics import score
from tests.conftest import shared_dataset


def test_degradation_is_pillow_bicubic_down_up_exactly():
    hr = np.random.default_rng(1).integers(0, 256, (61, 94, 3), dtype=np.uint8)
    hr_c, lr, y0 = degrade(hr, 4)
    assert hr_c.shape == (60, 92, 3) and lr.shape == (15, 23, 3) and y0.shape == hr_c.shape
    pil_lr = Image.fromarray(hr[:60, :92]).resize((23, 15), Image.BICUBIC)
    assert np.array_equal(lr, np.asarray(pil_lr))
    assert np.array_equal(y0, np.asarray(pil_lr.resize((92, 60), Image.BICUBIC)))
    assert y0.dtype == np.uint8


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_mod_crop(scale):
    a = np.zeros((100, 77, 3), np.uint8)
    h, w = mod_crop(a, scale).shape[:2]
    assert h % scale == 0 and w % scale == 0 and 100 - h < scale and 77 - w < scale


@pytest.mark.parametrize(
    "scale, hr_size, lr_size, crop",
    [
        (2.5, (61, 94), (24, 37), (60, 93)),  # 37 x 2.5 = 92.5: halves round up
        (3.5, (61, 94), (17, 26), (60, 91)),
        (1.5, (10, 11), (6, 7), (9, 11)),  # 7 x 1.5 = 10.5 -> 11 (<= 11: inside the image)
        (1.0, (10, 11), (10, 11), (10, 11)),
        (3.3, (33, 100), (10, 30), (33, 99)),  # 33 / 3.3 is 10 up to float rounding
        (2.3, (58, 60), (25, 26), (58, 60)),  # 25 x 2.3 = 57.5 (57.4999... in float) -> 58
    ],
)
def test_the_size_rule_and_y0_at_non_integer_scales(scale, hr_size, lr_size, crop):
    hr = np.random.default_rng(2).integers(0, 256, (*hr_size, 3), dtype=np.uint8)
    hr_c, lr, y0 = degrade(hr, scale)
    assert lr.shape[:2] == lr_size and hr_c.shape[:2] == crop and y0.shape == hr_c.shape
    assert np.array_equal(hr_c, hr[: crop[0], : crop[1]])  # the top-left crop
    pil_lr = Image.fromarray(hr_c).resize(lr_size[::-1], Image.BICUBIC)
    assert np.array_equal(lr, np.asarray(pil_lr))
    assert np.array_equal(y0, np.asarray(pil_lr.resize(crop[::-1], Image.BICUBIC)))
    assert np.array_equal(upsample(lr, scale), y0)  # what the upscaler makes of that LR


def test_integer_scales_keep_the_mod_crop_rule():
    for side in range(1, 300):
        for scale in (2, 3, 4):
            assert lr_side(side, scale) == side // scale
            assert hr_side(side // scale, scale) == side - side % scale


def test_a_patch_keeps_its_size_at_any_scale():
    hr = np.random.default_rng(3).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    y0, applied = patch_y0(hr, 2.5), applied_scale(128, 2.5)  # an LR of 51 pixels
    lr = Image.fromarray(hr).resize((51, 51), Image.BICUBIC)
    assert np.array_equal(y0, np.asarray(lr.resize((128, 128), Image.BICUBIC)))
    assert applied == 128 / 51
    y0_4, applied_4 = patch_y0(hr, 4), applied_scale(128, 4)
    assert np.array_equal(y0_4, degrade(hr, 4)[2]) and applied_4 == 4


def test_bicubic_set5_matches_published_protocol():
    folder = shared_dataset("Set5")
    rows = [
        score(y0, hr, 4)
        for hr, _, y0 in (degrade(read_image(p), 4) for p in sorted(folder.glob("*.png")))
    ]
    assert len(rows) == 5
    assert abs(np.mean([r["psnr_y"] for r in rows]) - 28.43) <= 0.02
    assert abs(np.mean([r["ssim_y"] for r in rows]) - 0.811) <= 0.002
