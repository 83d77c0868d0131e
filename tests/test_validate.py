import numpy as np
import pandas as pd
import torch

from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig
from srcore.data.batches import PatchBatches
from srcore.data.cache import save_array
from srcore.diffusion.loader import Sampler
from srcore.diffusion.resshift import ResShift
from srcore.eval.validate import validate
from tests.helpers.images import smooth_image, tiny_model


def _patches(tmp_path) -> PatchBatches:
    hr = smooth_image(128, 192)
    y0 = np.clip(hr.astype(int) + 9, 0, 255).astype(np.uint8)
    save_array(tmp_path / "valid" / "a.png.hr.npy", hr)
    save_array(tmp_path / "valid" / "a.png.y0.npy", y0)
    rows = [("valid", "a.png", t, left, 64) for t in (0, 64) for left in (0, 64, 128)]
    index = pd.DataFrame(rows, columns=["split", "image", "top", "left", "size"])
    return PatchBatches(tmp_path, index, "valid", 8, 0)


def test_validation_ignores_the_global_rng_and_the_batch_size(tmp_path):
    patches, model = _patches(tmp_path), tiny_model(stem=1, dct_block=8)
    diffusion = ResShift.from_config(DiffusionConfig()).respace(2)
    scores = []
    for rng_seed, batch in ((0, 8), (123, 4), (7, 1)):
        torch.manual_seed(rng_seed)  # what training did before is irrelevant
        scores.append(
            validate(patches, Sampler(model, diffusion, SamplingSpec(seed=3)), batch=batch)
        )
    assert scores[0] == scores[1] == scores[2]
    assert (
        validate(patches, Sampler(model, diffusion, SamplingSpec(seed=4))) != scores[0]
    )  # the seed is what counts


def test_bicubic_alone_is_the_psnr_of_y0(tmp_path):
    patches = _patches(tmp_path)
    # y0 = HR + 9 everywhere (no clipping in this image): Y moves by 9 * 219 / 255
    expected = 10 * np.log10(255**2 / (9 * (65.481 + 128.553 + 24.966) / 255) ** 2)
    assert abs(validate(patches) - expected) < 0.05
