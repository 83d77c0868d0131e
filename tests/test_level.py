"""The level head of a clean-up model and `--cleanup auto`: its fit learns which level gains most,
auto tells a whole image the level it picks, and older files keep working."""

import numpy as np
import pytest
import torch

from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.data.degrade import upsample
from srcore.diffusion.loader import TrainedModel
from srcore.diffusion.resshift import ResShift
from srcore.net import level
from srcore.net.checkpoint import save_checkpoint
from srcore.net.unet import DualDomainUNet
from srcore.train import levels
from tests.helpers.images import smooth_image, tiny_model

KNOB = ModelConfig(width=8, time_dim=16, scales=(), cleanup=True)


def _noisy_batch(levels: torch.Tensor, side: int = 32, seed: int = 0) -> torch.Tensor:
    """y0-like patches in [-1, 1] whose noise grows with the level (30 grey levels at 1)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.from_numpy(smooth_image(side, side, seed)).permute(2, 0, 1).float() / 127.5 - 1
    noise = torch.randn((len(levels), 3, side, side), generator=g) * (30 / 127.5)
    return (base + levels[:, None, None, None] * noise).clamp(-1, 1)


class _Patches:
    """Batches whose y0 is clean or noisy (the level field says which), as PatchBatches.batch."""

    def batch(self, k: int) -> tuple[torch.Tensor, ...]:
        noisy = torch.tensor([float((k + i) % 2) for i in range(8)])
        y0 = _noisy_batch(noisy, 64, seed=k)
        return y0, y0, torch.zeros(8, 2, dtype=torch.long), torch.zeros(8), noisy


def test_the_fit_teaches_the_head_which_level_gains_most(monkeypatch):
    def measured(net, diffusion, batch, seed):  # level 1 gains on noisy inputs, 0 on clean ones
        grid = torch.tensor(level.GRID)
        peak = batch[4][:, None]
        return -4 * (grid[None] - peak) ** 2 + 4 * peak**2

    monkeypatch.setattr(levels, "level_gains", measured)
    monkeypatch.setattr(levels, "BATCHES", 32)
    monkeypatch.setattr(levels, "EPOCHS", 30)
    torch.manual_seed(0)
    net = DualDomainUNet(KNOB)
    error = levels.fit_level_head(net, ResShift.from_config(DiffusionConfig()), _Patches(), 0)
    assert error < 0.5  # dB, on the held-out batches
    clean, noisy = _noisy_batch(torch.tensor([0.0, 1.0]), 128, seed=99).split(1)
    assert level.estimate_level(net, clean) <= 0.25 and level.estimate_level(net, noisy) >= 0.75


def test_measured_gains_are_over_level_zero_and_bounded():
    torch.manual_seed(0)
    net = tiny_model(cleanup=True)
    gains = levels.level_gains(net, ResShift.from_config(DiffusionConfig()), _Patches().batch(0), 0)
    assert gains.shape == (8, len(level.GRID)) and torch.all(gains[:, 0] == 0)
    assert gains.abs().max() <= levels.CLIP_DB and gains[:, 1:].abs().max() > 0


@pytest.mark.parametrize(
    "gains, best",
    [
        ([0.0, 1.0, 2.0, 3.0, 4.0], 1.0),  # rising: the end
        ([0.0, -1.0, -2.0, -3.0, -4.0], 0.0),
        ([0.0, 2.0, 2.5, 0.0, -1.0], 0.4),  # the parabola's vertex 0.417, rounded to 0.05
        ([0.0, 3.0, 2.0, 1.0, 0.0], 0.3),  # 0.3125
    ],
)
def test_the_best_level_is_the_peak_of_the_predicted_gains(gains, best):
    assert level.best_level(torch.tensor(gains)) == best


def test_auto_tells_a_whole_image_the_one_level_its_head_estimates(tmp_path):
    path = tmp_path / "knob.pt"
    save_checkpoint(path, tiny_model(cleanup=True), DiffusionConfig(), scale=4)
    trained = TrainedModel.load(path)
    y0 = upsample(smooth_image(40, 56), 4)
    estimated = trained.level_of(y0)
    assert estimated == 0.5  # what tiny_model's head picks: neither the default 0 nor 1
    for tile in (0, 128):  # tiles of one image agree on its level
        auto = trained.sampler(SamplingSpec(steps=1, cleanup="auto", tile=tile)).enlarge(y0)
        told = SamplingSpec(steps=1, cleanup=estimated, tile=tile)
        assert np.array_equal(auto, trained.sampler(told).enlarge(y0))
        other = SamplingSpec(steps=1, cleanup=min(1.0, estimated + 0.3), tile=tile)
        assert not np.array_equal(auto, trained.sampler(other).enlarge(y0))


def test_in_a_batch_each_input_is_told_its_own_estimate(monkeypatch):
    net = tiny_model(cleanup=True)
    picks = {}  # a pick that depends on the input: its mean brightness
    monkeypatch.setattr(
        level, "estimate_level", lambda n, y: picks.setdefault(float(y.mean()), len(picks) / 2)
    )
    y0 = torch.stack([_noisy_batch(torch.tensor([x]), 64)[0] for x in (0.0, 1.0)])
    auto = level.AutoLevel(net).condition(y0)
    for i, told in enumerate((0.0, 0.5)):
        assert torch.equal(
            auto[i : i + 1], net.condition(y0[i : i + 1], level=torch.tensor([told]))
        )


def test_crops_cover_the_image_and_bound_the_work():
    image = torch.zeros(1, 3, 700, 300)
    crops = level.crops_of(image, 128)
    assert crops.shape[1:] == (3, 128, 128) and 1 < len(crops) <= level.CROPS
    small = level.crops_of(torch.zeros(1, 3, 40, 90), 128)
    assert small.shape == (1, 3, 32, 80)  # the largest multiples of 16 inside it
    assert level.crops_of(torch.zeros(1, 3, 9, 40), 128).shape == (1, 3, 16, 32)  # padded first


def test_a_clean_up_model_from_before_the_head_loads_and_refuses_auto(tmp_path):
    net = tiny_model(cleanup=True)
    del net.level_head
    path = tmp_path / "old.pt"
    save_checkpoint(path, net, DiffusionConfig(), scale=4)
    trained = TrainedModel.load(path)
    assert not trained.estimates and trained.resolve(SamplingSpec()).cleanup == 0.0
    with pytest.raises(UserError, match="cleanup auto: .* has no level head"):
        trained.resolve(SamplingSpec(cleanup="auto"))
