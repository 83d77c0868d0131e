"""The real-world degradation: each component on synthetic images, the pipeline's sizes and keys,
and the batches it feeds (workers, data-parallel shares)."""

import dataclasses
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
import skimage.data
import torch
from PIL import Image

from srcore.config.schema import REALESRGAN, RealConfig
from srcore.data import kernels, realworld
from srcore.data.batches import PatchBatches, TrainSteps
from srcore.data.cache import INDEX_COLUMNS, save_array
from srcore.data.degrade import degrade
from srcore.data.realworld import RealPatches, generator
from srcore.eval.metrics import psnr
from tests.helpers.images import smooth_image

FLAT = torch.full((3, 96, 96), 0.5)


def test_blur_spreads_an_impulse_and_keeps_a_flat_image():
    img = torch.zeros(3, 41, 41)
    img[:, 20, 20] = 1.0
    out = realworld.blur(img, kernels.gaussian(21, 2.0))
    y, x = np.mgrid[-20:21, -20:21]
    assert float((out[0].numpy() * x**2).sum()) == pytest.approx(4.0, rel=0.02)
    assert torch.allclose(realworld.blur(FLAT, kernels.sinc(21, 1.0)), FLAT, atol=1e-5)


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize("sigma", [3.0, 25.0])
def test_gaussian_noise_has_the_drawn_deviation(sigma, gray):
    noise = realworld.gaussian_noise(FLAT, sigma, gray, np.random.default_rng(0)) - FLAT
    assert float(noise.std() * 255) == pytest.approx(sigma, rel=0.03)
    assert torch.equal(noise[0], noise[2]) is gray  # grey: one plane for the three channels


def test_poisson_noise_has_the_deviation_of_an_8_bit_sensor():
    for level, scale in ((0.2, 1.0), (0.5, 2.5)):  # far enough from 0 and 1 not to clip
        img = torch.full((3, 128, 128), level)
        noise = realworld.poisson_noise(img, scale, False, np.random.default_rng(1)) - img
        assert float(noise.std()) == pytest.approx(scale * np.sqrt(level / 255), rel=0.03)
        assert abs(float(noise.mean())) < 0.01 * scale


@pytest.mark.parametrize("quality", [30, 75, 95])
def test_jpeg_is_pillows_jpeg_at_that_quality(quality):
    img = smooth_image(40, 56, seed=quality)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    expected = np.asarray(Image.open(buf))
    out = realworld.jpeg(torch.from_numpy(img).permute(2, 0, 1).float() / 255, quality)
    assert np.array_equal(realworld.to_uint8(out), expected)


def test_grey_poisson_noise_is_one_plane_for_the_three_channels():
    img = torch.full((3, 64, 64), 0.4)
    noise = realworld.poisson_noise(img, 2.0, True, np.random.default_rng(2)) - img
    assert torch.equal(noise[0], noise[1]) and float(noise.std()) > 0.03


def test_blur_keeps_the_size_of_an_image_smaller_than_its_kernel():
    small = torch.rand(3, 6, 9)
    out = realworld.blur(small, kernels.gaussian(21, 3.0))
    assert out.shape == small.shape and out.std() < small.std()


def _recorded_resizes(monkeypatch, flags: list | None = None) -> list[tuple[int, int]]:
    sizes, resize = [], realworld.resize

    def spy(img, size, mode, antialias=False):
        sizes.append(size)
        if flags is not None:
            flags.append(antialias)
        return resize(img, size, mode, antialias)

    monkeypatch.setattr(realworld, "resize", spy)
    return sizes


@pytest.mark.parametrize("antialias", [False, True])
def test_every_resize_of_the_pipeline_follows_the_antialias_setting(antialias, monkeypatch):
    flags = []
    sizes = _recorded_resizes(monkeypatch, flags)
    cfg = RealConfig(antialias=antialias)
    for key in range(4):
        realworld.real_lr(smooth_image(96, 128), (24, 32), cfg, generator(key))
    assert len(sizes) == 12 and flags == [antialias] * 12  # the two stages' and the final one


@pytest.mark.parametrize("mode", realworld.RESIZE_MODES)
def test_a_resize_has_the_drawn_size(mode, monkeypatch):
    assert realworld.resize(FLAT, (37, 150), mode).shape == (3, 37, 150)
    sizes, factors = _recorded_resizes(monkeypatch), iter([0.5, 1.5])
    monkeypatch.setattr(realworld, "resize_factor", lambda rng, chances, span: next(factors))
    realworld.real_lr(smooth_image(96, 128), (24, 32), RealConfig(), generator(1))
    # 0.5 of the HR size, then 1.5 of the LR size, then the LR size
    assert sizes == [(48, 64), (36, 48), (24, 32)]


def test_each_stage_resizes_by_its_own_chances_and_range(monkeypatch):
    sizes = _recorded_resizes(monkeypatch)
    cfg = RealConfig(
        resize_chances=(0.0, 1.0, 0.0),  # first: down, 0.5..1 of the HR size
        resize_range=(0.5, 3.0),
        resize_chances2=(1.0, 0.0, 0.0),  # second: up, 1..1.2 of the LR size
        resize_range2=(0.2, 1.2),
    )
    for key in range(6):
        sizes.clear()
        realworld.real_lr(smooth_image(96, 128), (24, 32), cfg, generator(key))
        (h1, w1), (h2, w2), last = sizes
        assert 48 <= h1 <= 96 and 64 <= w1 <= 128 and 24 <= h2 <= 28 and 32 <= w2 <= 38
        assert last == (24, 32)


def test_resize_factors_come_from_the_chosen_way_and_range():
    rng = np.random.default_rng(0)
    span = (0.3, 1.5)
    up = [realworld.resize_factor(rng, (1, 0, 0), span) for _ in range(200)]
    down = [realworld.resize_factor(rng, (0, 1, 0), span) for _ in range(200)]
    assert 1 <= min(up) and max(up) <= 1.5 and max(up) > 1.4
    assert 0.3 <= min(down) and min(down) < 0.35 and max(down) <= 1
    assert realworld.resize_factor(rng, (0, 0, 1), span) == 1.0


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_an_antialiased_shrink_removes_what_the_plain_one_folds_back(mode):
    x = torch.arange(96.0)  # stripes of period 3 HR pixels: above the Nyquist limit of a x4 LR
    stripes = (0.5 + 0.4 * torch.cos(2 * torch.pi * x / 3)).expand(3, 96, 96)
    plain = realworld.resize(stripes, (24, 24), mode)
    smooth = realworld.resize(stripes, (24, 24), mode, antialias=True)
    assert plain.std() > 0.1 and smooth.std() < 0.02
    assert abs(smooth.mean() - 0.5) < 0.01


GENTLE = RealConfig(  # almost no degradation: each test below turns one setting up
    antialias=False,
    blur_sigma=(0.1, 0.1),
    blur_sigma2=(0.1, 0.1),
    sinc_prob=0.0,
    resize_chances=(0.0, 0.0, 1.0),
    resize_chances2=(0.0, 0.0, 1.0),
    gaussian_noise_prob=1.0,
    noise_range=(0.0, 0.0),
    noise_range2=(0.0, 0.0),
    jpeg_range=(100.0, 100.0),
    jpeg_range2=(100.0, 100.0),
    second_blur_prob=0.0,
    final_sinc_prob=0.0,
)


@pytest.mark.parametrize(
    "change,loss",
    [
        ({"noise_range": (20.0, 20.0)}, 5),
        ({"noise_range2": (20.0, 20.0)}, 5),
        (
            {"gaussian_noise_prob": 0.0, "poisson_range": (0.0, 0.0), "poisson_range2": (3.0, 3.0)},
            5,
        ),
        ({"sinc_prob": 1.0}, 5),
        ({"jpeg_range": (5.0, 5.0)}, 5),
        ({"jpeg_range2": (5.0, 5.0)}, 5),
        ({"blur_sigma": (3.0, 3.0)}, 5),
        ({"second_blur_prob": 1.0, "blur_sigma2": (3.0, 3.0)}, 5),
        ({"final_sinc_prob": 1.0}, 5),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, dict) else str(v),
)
def test_each_setting_reaches_the_pipeline(change, loss):
    y, x = np.mgrid[0:128, 0:128]  # detail that the x4 LR keeps (periods of 20 and 24 pixels)
    wave = 128 + 80 * np.sin(2 * np.pi * x / 20) * np.cos(2 * np.pi * y / 24)
    hr = np.repeat(wave[..., None], 3, axis=2).astype(np.uint8)
    clean = degrade(hr, 4)[1]
    gentle = [psnr(realworld.real_lr(hr, (32, 32), GENTLE, generator(k)), clean) for k in range(4)]
    cfg = dataclasses.replace(GENTLE, **change)
    worse = [psnr(realworld.real_lr(hr, (32, 32), cfg, generator(k)), clean) for k in range(4)]
    assert min(gentle) > 30 and np.mean(gentle) - np.mean(worse) > loss


def test_antialiased_shrinks_bring_the_pipeline_to_pillows_lr():
    y, x = np.mgrid[0:128, 0:128]  # fine detail: periods of 3 and 5 HR pixels
    wave = 128 + 60 * np.sin(2 * np.pi * x / 3) + 60 * np.cos(2 * np.pi * y / 5)
    hr = np.repeat(wave[..., None], 3, axis=2).astype(np.uint8)
    pillow = degrade(hr, 4)[1]
    smooth = dataclasses.replace(GENTLE, antialias=True)
    gains = []
    for key in range(6):  # the shrink's mode is drawn per key: area keeps its box either way
        plain = psnr(realworld.real_lr(hr, (32, 32), GENTLE, generator(key)), pillow)
        antialiased = psnr(realworld.real_lr(hr, (32, 32), smooth, generator(key)), pillow)
        assert antialiased == plain or (plain < 20 and antialiased > 40)
        gains.append(antialiased - plain)
    assert sum(g > 0 for g in gains) >= 3


@pytest.mark.parametrize("scale,size", [(4, (52, 36)), (3, (51, 99)), (2, (128, 128))])
def test_the_pipeline_gives_an_lr_of_exactly_one_scale_th_and_y0_of_hr_size(scale, size):
    hr = smooth_image(*size)
    for key in range(8):
        hr_c, lr, y0 = realworld.real_degrade(hr, scale, RealConfig(), generator(key))
        assert lr.shape == (size[0] // scale, size[1] // scale, 3) and lr.dtype == np.uint8
        assert y0.shape == hr_c.shape == (lr.shape[0] * scale, lr.shape[1] * scale, 3)


def test_the_pipeline_is_a_function_of_its_key_and_degrades_more_than_bicubic():
    hr = smooth_image(96, 96, seed=4)
    one = [realworld.real_degrade(hr, 4, RealConfig(), generator(7, k))[2] for k in range(6)]
    again = [realworld.real_degrade(hr, 4, RealConfig(), generator(7, k))[2] for k in range(6)]
    assert all(np.array_equal(a, b) for a, b in zip(one, again))
    assert len({a.tobytes() for a in one}) == 6  # every key its own draw
    clean = psnr(degrade(hr, 4)[2], hr)
    assert np.mean([psnr(a, hr) for a in one]) < clean - 1


def _patches(tmp_path, real: RealPatches | None, batch_size: int = 4) -> PatchBatches:
    img = smooth_image(64, 64)
    save_array(tmp_path / "train" / "a.png.hr.npy", img)
    save_array(tmp_path / "train" / "a.png.y0.npy", degrade(img, 4)[2])
    rows = [("train", "a.png", t, left, 32) for t in (0, 16, 32) for left in (0, 32)]
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    return PatchBatches(tmp_path, index, "train", batch_size, 5, real)


# sha256 of batches 0..2 (both halves) of the cache below, made by the code before the real
# degradation existed: bicubic must keep serving exactly these bytes
BICUBIC_BATCHES = "02d330c2f6d5a4f9379bd2152e16918fb6b3e7dc2f35c962be8f1d7fcdcb9f82"


def test_bicubic_batches_are_the_previous_codes_bytes(tmp_path):
    for i, name in enumerate(("a.png", "b.png")):
        img = smooth_image(64, 80, seed=i)
        save_array(tmp_path / "train" / f"{name}.hr.npy", img)
        save_array(tmp_path / "train" / f"{name}.y0.npy", degrade(img, 4)[2])
    names = ("a.png", "b.png")
    rows = [("train", n, t, left, 32) for n in names for t in (0, 16, 32) for left in (0, 48)]
    p = PatchBatches(tmp_path, pd.DataFrame(rows, columns=INDEX_COLUMNS), "train", 4, 5)
    digest = hashlib.sha256()
    for k in range(3):
        for part in (0, 1):
            *tensors, scale, level = p.batch(k, part, 2)
            assert not scale.any() and not level.any()  # the prepared scale, clean LR
            for t in tensors:
                digest.update(t.numpy().tobytes())
    assert digest.hexdigest() == BICUBIC_BATCHES


def test_bicubic_batches_are_crops_of_the_cached_y0(tmp_path):
    patches = _patches(tmp_path, None)
    _, y0, origin, _, _ = patches.batch(3)
    cached = np.load(tmp_path / "train" / "a.png.y0.npy")
    for y, (top, left) in zip(y0, origin.tolist()):
        crop = torch.from_numpy(cached[top : top + 32, left : left + 32]).permute(2, 0, 1)
        assert torch.equal(((y + 1) * 127.5).round().to(torch.uint8), crop)


def test_real_batches_are_drawn_per_step_and_item_and_shared_exactly_between_ranks(tmp_path):
    patches = _patches(tmp_path, RealPatches(RealConfig(), 4))
    whole = patches.batch(3)
    halves = [patches.batch(3, part, 2) for part in (0, 1)]
    for a, b in zip(whole, (torch.cat(t) for t in zip(*halves))):
        assert torch.equal(a, b)
    bicubic = _patches(tmp_path, None).batch(3)
    assert torch.equal(whole[0], bicubic[0]) and not torch.equal(whole[1], bicubic[1])


def test_each_step_and_each_item_draws_its_own_degradation(tmp_path):
    patches = _patches(tmp_path, RealPatches(RealConfig(), 4))
    patches.index = patches.index.iloc[[0]]  # one patch: every item of every batch is that patch
    y0 = [patches.batch(k)[1] for k in (3, 4)]
    assert not torch.equal(y0[0], y0[1])  # the step is in the key
    assert all(not torch.equal(y0[0][0], y0[0][j]) for j in (1, 2, 3))  # and the item


def test_loader_workers_serve_the_batches_of_the_training_thread(tmp_path):
    steps = TrainSteps(_patches(tmp_path, RealPatches(RealConfig(), 4)), 15, 5)
    loader = torch.utils.data.DataLoader(steps, batch_size=None, sampler=range(4), num_workers=2)
    for k, served in enumerate(loader):
        for a, b in zip(served, steps[k]):
            assert torch.equal(a, b)


# sha256 of real_lr on six keys, Real-ESRGAN's reference and antialiased, made by the code before
# the clean-up level existed: level 1 is that pipeline, bit for bit
LEVEL_ONE = "679556e51a773e98cc9bbd3d1bedd7686c346684a7e4f77c51ff3c3055e89e31"


def test_level_one_is_the_pipeline():
    digest = hashlib.sha256()
    for key in range(6):
        hr = smooth_image(96, 128, seed=key)
        for cfg in (REALESRGAN, dataclasses.replace(REALESRGAN, antialias=True)):
            digest.update(realworld.real_lr(hr, (24, 32), cfg, generator(7, key), 1.0).tobytes())
    assert digest.hexdigest() == LEVEL_ONE


@pytest.mark.parametrize("cfg", [REALESRGAN, RealConfig()], ids=["realesrgan", "real"])
def test_the_knob_is_continuous_at_zero_on_a_textured_photo(cfg):
    # a textured crop (hair, fabric, the flag): a lost pixel or an extra resize shows at once
    hr = np.ascontiguousarray(skimage.data.astronaut()[60:252, 150:342])
    clean = degrade(hr, 4)[1].astype(float)
    for key in range(16):
        near_zero = realworld.real_lr(hr, (48, 48), cfg, generator(5, key), 1e-6)
        assert np.abs(near_zero - clean).mean() < 0.2  # grey levels, every key


def test_the_level_scales_every_steps_change():
    hr = smooth_image(128, 128)
    clean = degrade(hr, 4)[1]
    mean_error = {
        level: np.mean(
            [
                np.abs(
                    realworld.real_lr(hr, (32, 32), REALESRGAN, generator(k), level).astype(float)
                    - clean
                ).mean()
                for k in range(8)
            ]
        )
        for level in (0.0, 0.01, 0.25, 0.5, 1.0)
    }
    errors = list(mean_error.values())
    assert errors[0] == 0 and errors[1] < 0.2  # continuous at 0 (the float path, not Pillow's)
    assert all(a < b for a, b in zip(errors[1:], errors[2:]))  # and growing with the level


@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
def test_a_mixed_kernel_sums_to_one_and_is_the_identity_at_zero(level):
    kernel = kernels.gaussian(9, 2.0)
    mixed = realworld.mixed_kernel(kernel, level)
    assert mixed.sum() == pytest.approx(1.0)
    img = torch.rand(3, 20, 20, dtype=torch.float64)
    out = realworld.blur(img, mixed)
    if level == 0:
        assert torch.allclose(out, img, atol=1e-10)
    else:  # the blur's change, scaled
        full = realworld.blur(img, kernel)
        assert torch.allclose(out - img, level * (full - img), atol=1e-10)
