import numpy as np
import pytest
from PIL import Image

from srcore.degrade import degrade, mod_crop
from srcore.images import read_image
from srcore.metrics import score
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


def test_bicubic_set5_matches_published_protocol():
    folder = shared_dataset("Set5")
    rows = [
        score(y0, hr, 4)
        for hr, _, y0 in (degrade(read_image(p), 4) for p in sorted(folder.glob("*.png")))
    ]
    assert len(rows) == 5
    assert abs(np.mean([r["psnr_y"] for r in rows]) - 28.43) <= 0.02
    assert abs(np.mean([r["ssim_y"] for r in rows]) - 0.811) <= 0.002
