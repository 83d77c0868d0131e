"""Multi-scale batches (model.scales): each patch's scale drawn from (seed, step, item)."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from srcore.common.tensors import to_tensor
from srcore.config.schema import RealConfig
from srcore.data.batches import PatchBatches, TrainSteps, integer_scales
from srcore.data.cache import INDEX_COLUMNS, save_array
from srcore.data.degrade import applied_scale, degrade, patch_y0
from srcore.data.realworld import RealPatches
from tests.helpers.images import smooth_image


def _patches(
    tmp_path, scales=(1.0, 4.0), real=None, batch_size=8, share=0.0, bias=0.0
) -> PatchBatches:
    img = smooth_image(96, 96)
    save_array(tmp_path / "train" / "a.png.hr.npy", img)
    save_array(tmp_path / "train" / "a.png.y0.npy", degrade(img, 4)[2])
    rows = [("train", "a.png", t, left, 64) for t in (0, 32) for left in (0, 32)]
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    integer = {"integer_share": share, "integer_bias": bias}
    return PatchBatches(tmp_path, index, "train", batch_size, 5, real, scales=scales, **integer)


def test_each_patch_is_made_at_its_drawn_scale(tmp_path):
    patches = _patches(tmp_path)
    seen = []
    for k in range(4):
        x0, y0, _, scale, _ = patches.batch(k)
        for hr, y, s in zip(x0, y0, scale.tolist()):
            hr8 = ((hr + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
            lr_side = round(64 / s)  # the factor told is the one applied: 64 / LR side
            assert abs(64 / lr_side - s) < 1e-6 and 16 <= lr_side <= 64
            assert torch.equal(y, to_tensor(patch_y0(hr8, 64 / lr_side)))
            seen.append(s)
    assert len(set(seen)) > 20 and min(seen) < 1.5 and max(seen) > 3  # spread over the range


def test_an_integer_share_puts_that_share_at_integer_scales_and_keeps_the_other_draws(tmp_path):
    def drawn(share):
        patches = _patches(tmp_path, scales=(1.0, 4.0), share=share)
        return np.array([s for k in range(40) for s in patches.batch(k)[3].tolist()])

    plain, half, every = drawn(0.0), drawn(0.5), drawn(1.0)
    assert integer_scales((1.0, 4.0)) == (2, 3, 4) and integer_scales((1.2, 3.9)) == (2, 3)
    applied = [np.float32(applied_scale(64, s)) for s in (2, 3, 4)]  # 3: 64 / 21 on 64 pixels
    counts = [(every == a).sum() for a in applied]
    assert sum(counts) == len(every) and min(counts) > len(every) / 4  # evenly, nothing else
    moved = half != plain  # a patch not moved to an integer keeps the range's own draw
    assert 0.35 < moved.mean() < 0.6 and np.isin(half[moved], applied).all()
    assert np.array_equal(drawn(0.5), half)  # a pure function of the key


def test_an_integer_bias_draws_the_small_integer_scales_more_often(tmp_path):
    def counts(bias):
        patches = _patches(tmp_path, scales=(1.0, 4.0), share=1.0, bias=bias)
        drawn = np.array([s for k in range(150) for s in patches.batch(k)[3].tolist()])
        return np.array([(drawn == np.float32(applied_scale(64, s))).sum() for s in (2, 3, 4)])

    even, biased = counts(0.0) / 1200, counts(2.0) / 1200
    assert biased.sum() == 1 and np.abs(even - 1 / 3).max() < 0.05
    odds = np.array([2, 3, 4]) ** -2.0
    assert np.abs(biased - odds / odds.sum()).max() < 0.05  # x2 59 %, x3 26 %, x4 15 %


# sha256 of the 400 scales below as the code drew them before train.integer_bias existed: bias 0
# must keep them bit for bit
EVEN_DRAWS = "d6f0284e0489b2c338d4a490e7e98c8c9409f474f508143573162c0d628b68da"


def test_bias_zero_keeps_the_draws_of_the_code_before_it(tmp_path):
    patches = _patches(tmp_path, scales=(1.0, 4.0), share=0.5, bias=0.0)
    keys = [(5, k, j, 0x5CA1E) for k in range(50) for j in range(8)]  # as batch() keys them
    drawn = np.array([patches.draw_scale(np.random.default_rng(key)) for key in keys])
    assert hashlib.sha256(drawn.tobytes()).hexdigest() == EVEN_DRAWS


def test_a_range_without_an_integer_scale_from_2_ignores_the_share(tmp_path):
    patches = _patches(tmp_path, scales=(1.0, 1.9), share=1.0)
    assert patches.integer_share == 0.0
    assert all(1.0 <= s <= 1.9 + 1e-6 for s in patches.batch(0)[3].tolist())


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_scales_are_keyed_by_step_and_item_and_shared_exactly_between_ranks(tmp_path, share):
    patches = _patches(tmp_path, scales=(2.0, 4.0), share=share)
    whole = patches.batch(3)
    halves = [patches.batch(3, part, 2) for part in (0, 1)]
    for a, b in zip(whole, (torch.cat(t) for t in zip(*halves))):
        assert torch.equal(a, b)
    assert torch.equal(patches.batch(3)[3], whole[3])  # a pure function of (seed, k)
    assert not torch.equal(patches.batch(4)[3], whole[3])
    assert len(set(whole[3].tolist())) >= 4  # each item its own (LR sides 16..32: 17 factors)
    assert all(2 <= s <= 4.0 + 1e-6 for s in whole[3].tolist())


def test_real_patches_at_a_drawn_scale_keep_the_real_draws(tmp_path):
    real = RealPatches(RealConfig(), 4)
    patches = _patches(tmp_path, scales=(1.0, 4.0), real=real)
    x0, y0, _, scale, _ = patches.batch(2)
    rows = patches.index.iloc[np.random.default_rng([5, 2]).integers(0, 4, 8)]
    for j, (r, s) in enumerate(zip(rows.itertuples(), scale.tolist())):
        hr = np.ascontiguousarray(
            patches.images["a.png"][0][r.top : r.top + 64, r.left : r.left + 64]
        )
        expected = real.y0(hr, (5, 2, j), 64 / round(64 / s))
        assert torch.equal(y0[j], to_tensor(expected))


def test_scale_one_is_restoration_at_the_same_size(tmp_path):
    hr = smooth_image(64, 64)
    y0 = RealPatches(RealConfig(), 4).y0(hr, (1, 2, 3), scale=1.0)
    assert y0.shape == hr.shape and not np.array_equal(y0, hr)  # degraded, not enlarged
    assert np.array_equal(patch_y0(hr, 1.0), hr)  # bicubic at x1 is the identity


def test_train_steps_serve_the_scale_of_each_item(tmp_path):
    steps = TrainSteps(_patches(tmp_path, batch_size=4), 15, 5)
    x0, y0, origin, scale, level, t, noise = steps[2]
    assert scale.shape == (4,) and torch.equal(scale, steps.patches.batch(2)[3])


def test_a_final_share_moves_that_share_of_t_to_the_last_step_and_keeps_the_other_draws(tmp_path):
    patches = _patches(tmp_path, batch_size=64)
    uniform = TrainSteps(patches, 15, 5)[3]
    none, half, every = (TrainSteps(patches, 15, 5, final_share=s)[3] for s in (0.0, 0.5, 1.0))
    gen = torch.Generator().manual_seed(5 * 1_000_003 + 3)  # the draws of before: t, then noise
    t_before = torch.randint(1, 16, (64,), generator=gen)
    assert torch.equal(none[5], t_before) and torch.equal(
        none[6], torch.randn(64, 3, 64, 64, generator=gen)
    )
    assert all(torch.equal(a, b) for a, b in zip(none, uniform))
    assert torch.equal(every[5], torch.full((64,), 15))
    moved = half[5] != uniform[5]
    assert torch.all(half[5][moved] == 15) and torch.equal(half[6], uniform[6])
    assert 0.3 < (half[5] == 15).float().mean() < 0.7  # about half, against 1/15 uniform
    shares = [TrainSteps(patches, 15, 5, part, 2, 0.5)[3][5] for part in (0, 1)]
    assert torch.equal(torch.cat(shares), half[5])  # the ranks split the same draws


def test_clean_up_levels_are_drawn_per_item_and_make_each_y0(tmp_path):
    real = RealPatches(RealConfig(), 4)
    patches = _patches(tmp_path, scales=None, real=real)
    patches.levels = True
    levels = torch.cat([patches.batch(k)[4] for k in range(40)])
    assert 0 <= levels.min() < 0.1 and 0.9 < levels.max() <= 1 and abs(levels.mean() - 0.5) < 0.1
    x0, y0, _, _, level = patches.batch(2)
    rows = patches.index.iloc[np.random.default_rng([5, 2]).integers(0, 4, 8)]
    for j, r in enumerate(rows.itertuples()):
        hr = np.ascontiguousarray(
            patches.images["a.png"][0][r.top : r.top + 64, r.left : r.left + 64]
        )
        assert torch.equal(y0[j], to_tensor(real.y0(hr, (5, 2, j), None, level[j].item())))
    halves = [patches.batch(2, part, 2) for part in (0, 1)]  # the ranks' shares: the same draws
    assert torch.equal(torch.cat([h[4] for h in halves]), level)
    assert torch.equal(torch.cat([h[1] for h in halves]), y0)
    patches.levels = False  # the draws of real patches without the knob: level 1, the pipeline
    assert torch.equal(patches.batch(2)[4], torch.ones(8))
    assert not torch.equal(patches.batch(2)[1], y0)


def test_levels_need_the_real_degradation(tmp_path):
    index = _patches(tmp_path).index
    with pytest.raises(ValueError, match="levels of the real degradation"):
        PatchBatches(tmp_path, index, "train", 8, 5, None, levels=True)
