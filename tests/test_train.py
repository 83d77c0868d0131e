"""The training loop: resume, the run identity, non-finite steps, the EMA."""

import copy
import dataclasses
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import srcore.train.loop as train_mod
from srcore.config.schema import (
    DiffusionConfig,
    LossConfig,
    ModelConfig,
    Params,
    PrepareConfig,
    RealConfig,
    TrainConfig,
    weight_settings,
)
from srcore.data.batches import PatchBatches
from srcore.data.cache import save_array
from srcore.data.realworld import RealPatches
from srcore.train.loop import NonFiniteLoss, train
from srcore.train.resume import run_identity
from tests.conftest import REPO

MODEL = ModelConfig(
    width=8, time_dim=16, stem=1, dct_block=8, scales=()
)  # takes the 32-pixel patches


@pytest.fixture
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save_array(tmp_path / "cache" / "train" / "a.png.hr.npy", img)
    save_array(tmp_path / "cache" / "train" / "a.png.y0.npy", img // 2 + 60)
    index = pd.DataFrame(
        [("train", "a.png", 0, 0, 32), ("train", "a.png", 32, 32, 32)],
        columns=["split", "image", "top", "left", "size"],
    )
    return PatchBatches(tmp_path / "cache", index, "train", 2, 0)


def fit(cfg: TrainConfig, data: PatchBatches, checkpoint, *args, **kwargs):
    """srcore.train.loop.train with this file's network, the default diffusion and loss, x4."""
    return train(
        cfg, MODEL, DiffusionConfig(), LossConfig(), 4, data, None, checkpoint, *args, **kwargs
    )


def _nan_on(steps: set[int], gradient_only: bool = False):
    real = train_mod.SRLoss

    class Flaky(real):
        calls = 0

        def forward(self, pred, target):
            Flaky.calls += 1
            loss = super().forward(pred, target)
            if Flaky.calls not in steps:
                return loss
            if (
                gradient_only
            ):  # the value stays finite; d sqrt(x)/dx at 0 is inf, times 0: NaN gradients
                return loss + 0.0 * torch.sqrt(0.0 * pred.sum())
            return loss * float("nan")

    return Flaky


def test_nan_steps_are_skipped_and_counted(tmp_path, tiny_data, monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on({3, 4}))
    logged = {}
    cfg = TrainConfig(
        steps=8, batch_size=2, checkpoint_every=2, log_every=1, max_nonfinite=3, device="cpu"
    )
    args = (cfg, MODEL, DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    model = train(*args, lambda m, s: logged.update({s: m}))
    out = capsys.readouterr().out
    assert "step 3: non-finite loss (nan), step skipped (1 so far)" in out
    assert "step 4: non-finite loss (nan), step skipped (2 so far)" in out
    assert logged[8]["train/skipped"] == 2 and all(
        torch.isfinite(p).all() for p in model.parameters()
    )


def test_a_finite_loss_with_non_finite_gradients_is_skipped(
    tmp_path, tiny_data, monkeypatch, capsys
):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on({2}, gradient_only=True))
    cfg = TrainConfig(steps=3, batch_size=2, checkpoint_every=1, log_every=1, device="cpu")
    model = fit(cfg, tiny_data, tmp_path / "ck.pt")
    assert "step 2: non-finite gradient, step skipped (1 so far)" in capsys.readouterr().out
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.load(tmp_path / "ck.pt", weights_only=True)["skipped"] == 1


def test_persistent_nan_stops_naming_the_step_and_the_last_good_checkpoint(
    tmp_path, tiny_data, monkeypatch
):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on(set(range(5, 100))))
    cfg = TrainConfig(steps=20, batch_size=2, checkpoint_every=2, max_nonfinite=3, device="cpu")
    # steps 5, 6, 7 are non-finite: no checkpoint is written during the streak, so step 4's is the
    # last good one
    with pytest.raises(
        NonFiniteLoss, match=r"last at step 7; last good checkpoint: .*ck\.pt \(step 4\)"
    ):
        fit(cfg, tiny_data, tmp_path / "ck.pt")
    assert torch.load(tmp_path / "ck.pt", weights_only=True)["step"] == 4


@pytest.mark.parametrize("degradation", ["bicubic", "real", "real-any-scale", "real-cleanup"])
def test_resumed_training_equals_an_uninterrupted_run(tmp_path, tiny_data, degradation):
    cfg = TrainConfig(
        steps=6,
        batch_size=2,
        checkpoint_every=3,
        log_every=1,
        device="cpu",
        degradation=degradation.split("-")[0],
    )
    model = MODEL
    if degradation.startswith("real"):  # drawn in the loader workers from (seed, step, item)
        tiny_data.real = RealPatches(RealConfig(), 4)
    if degradation.endswith("any-scale"):  # each patch's scale too
        model = dataclasses.replace(MODEL, scales=(1.0, 4.0))
        tiny_data.scales = model.scales
    if degradation.endswith("cleanup"):  # and each patch's clean-up level
        model, tiny_data.levels = dataclasses.replace(MODEL, cleanup=True), True
    args = (cfg, model, DiffusionConfig(), LossConfig(), 4, tiny_data, None)
    straight = train(*args, tmp_path / "a.pt")

    def killed_at_4(metrics, step):
        if step == 4:
            raise KeyboardInterrupt  # after step 4's update, before any later checkpoint

    with pytest.raises(KeyboardInterrupt):
        train(*args, tmp_path / "b.pt", killed_at_4)
    assert torch.load(tmp_path / "b.pt", weights_only=True)["step"] == 3
    resumed = train(*args, tmp_path / "b.pt")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def _killed_at(step_to_die: int):
    def log(metrics, step):
        if step == step_to_die:
            raise KeyboardInterrupt

    return log


def test_a_checkpoint_is_continued_only_for_the_same_run(tmp_path, tiny_data, capsys):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    mcfg, ck = MODEL, tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, tiny_data, ck, _killed_at(4))
    # a weight-changing setting differs: one line naming it, then all 6 steps from scratch
    other = train(
        cfg,
        mcfg,
        DiffusionConfig(),
        LossConfig(freq_weight=0.0),
        4,
        tiny_data,
        None,
        tmp_path / "x.pt",
    )
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, tiny_data, ck, _killed_at(4))
    capsys.readouterr()
    logged, no_freq = [], LossConfig(freq_weight=0.0)
    again = train(
        cfg, mcfg, DiffusionConfig(), no_freq, 4, tiny_data, None, ck, lambda m, s: logged.append(s)
    )
    out = capsys.readouterr().out
    assert (
        "is another run (loss.freq_weight: 2.0 -> 0.0): training from scratch" in out
        and logged == [1, 2, 3, 4, 5, 6]
    )
    for a, b in zip(other.parameters(), again.parameters()):
        assert torch.equal(a, b)
    # the scale, a prepare setting, is part of the run too
    train(
        cfg,
        mcfg,
        DiffusionConfig(),
        LossConfig(freq_weight=0.0),
        2,
        tiny_data,
        None,
        ck,
        _killed_at(99),
    )
    assert "prepare.scale: 4 -> 2" in capsys.readouterr().out
    # a finished run is not continued (0 steps would save the old weights again)
    train(cfg, mcfg, DiffusionConfig(), LossConfig(freq_weight=0.0), 2, tiny_data, None, ck)
    assert "is a finished run (step 6): training from scratch" in capsys.readouterr().out


def test_every_degradation_setting_is_part_of_a_real_run_and_none_of_a_bicubic_one():
    real = TrainConfig(degradation="real")
    base = weight_settings(Params(train=real))
    assert {f"real.{f}" for f in RealConfig.__dataclass_fields__} <= set(base)
    for change, key in (
        ({"jpeg_range": (40.0, 95.0)}, "real.jpeg_range"),
        ({"final_sinc_prob": 0.0}, "real.final_sinc_prob"),
    ):
        other = weight_settings(Params(train=real, real=RealConfig(**change)))
        assert [k for k in base if base[k] != other[k]] == [key]
    bicubic = weight_settings(Params())
    assert (
        not any(k.startswith("real.") for k in bicubic)
        and bicubic["train.degradation"] == "bicubic"
    )
    assert weight_settings(Params(real=RealConfig(jpeg_range=(40.0, 95.0)))) == bicubic


def test_cadence_and_device_changes_still_resume(tmp_path, tiny_data, capsys):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (
        MODEL,
        DiffusionConfig(),
        LossConfig(),
        4,
        tiny_data,
        None,
        tmp_path / "ck.pt",
    )
    with pytest.raises(KeyboardInterrupt):
        train(cfg, *args, _killed_at(4))
    cadence = TrainConfig(
        **{
            **cfg.to_dict(),
            "eval_every": 7,
            "log_every": 2,
            "checkpoint_every": 2,
            "device": "auto",
        }
    )
    train(cadence, *args)
    assert "resuming from" in capsys.readouterr().out


def test_a_checkpoint_of_another_kind_of_device_is_another_run(tmp_path, tiny_data, capsys):
    # cuda trains in bf16: a GPU run's checkpoint is not continued in fp32 on a CPU (or back)
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (cfg, MODEL, DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    settings = weight_settings(
        Params(prepare=PrepareConfig(scale=4), model=MODEL, diffusion=DiffusionConfig(), train=cfg)
    )
    with pytest.raises(KeyboardInterrupt):
        train(*args, _killed_at(4), run_identity(settings, device="cuda"))
    logged = []
    train(*args, lambda m, s: logged.append(s))
    out = capsys.readouterr().out
    assert (
        "another run (device: 'cuda' -> 'cpu'" in out and "train.device: cuda continues it" in out
    )
    assert logged == [1, 2, 3, 4, 5, 6]


def test_code_or_data_changes_are_another_run(tmp_path, tiny_data, capsys):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (
        cfg,
        MODEL,
        DiffusionConfig(),
        LossConfig(),
        4,
        tiny_data,
        None,
        tmp_path / "ck.pt",
    )
    settings = run_identity({})["settings"]
    with pytest.raises(KeyboardInterrupt):
        train(*args, _killed_at(4), run_identity(settings, "code-a", "data-a"))
    train(*args, identity=run_identity(settings, "code-b", "data-a"), log=_killed_at(99))
    assert "another run (the code changed)" in capsys.readouterr().out
    train(*args, identity=run_identity(settings, "code-b", "data-b"))
    assert "another run (the training data changed)" in capsys.readouterr().out


def test_the_code_fingerprint_is_stable_across_processes_and_copies(tmp_path):
    shutil.copytree(
        REPO / "srcore", tmp_path / "srcore", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        REPO / "stages", tmp_path / "stages", ignore=shutil.ignore_patterns("__pycache__")
    )
    code = (
        "import srcore.train.loop, srcore.train.resume as r; "
        "print(r.code_fingerprint(['stages/train.py']))"
    )
    prints = []
    for root, hashseed in ((REPO, "1"), (REPO, "2"), (tmp_path, "3")):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(root)}
        prints.append(
            subprocess.run(
                [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
            ).stdout
        )
    assert prints[0] and len(set(prints)) == 1, prints
    (tmp_path / "srcore" / "diffusion" / "noise.py").write_text(
        (tmp_path / "srcore" / "diffusion" / "noise.py").read_text() + "\n# changed\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    changed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    ).stdout
    assert changed and changed != prints[0]


def _ema_lag(ema: float, updates: int) -> float:
    """How far the average of weights that climb by 1 per update trails them after `updates`."""
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    average = copy.deepcopy(model)
    for n in range(updates):
        with torch.no_grad():
            model.weight += 1.0
        train_mod.ema_update(average, model, train_mod.ema_decay(n, ema))
    return float((model.weight - average.weight).detach())


def test_the_ema_setting_is_the_decay_once_its_warm_up_is_over():
    # on a ramp an EMA of decay d settles d / (1 - d) behind: 9 for 0.9, 99 for 0.99
    assert _ema_lag(0.9, 300) == pytest.approx(9.0, abs=1e-3)
    assert _ema_lag(0.99, 3000) == pytest.approx(99.0, abs=0.5)
    # during the warm-up it follows closely, whatever the setting: 0.999 and 0.9999 are the same
    # average for the first 8,990 updates (docs/design.md says what the default run gets)
    assert _ema_lag(0.999, 1500) == pytest.approx(_ema_lag(0.9999, 1500))
    assert _ema_lag(0.999, 1500) < 200


def test_resume_restores_raw_and_ema_weights_exactly(tmp_path, tiny_data):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu", ema=0.9)
    args = (
        cfg,
        MODEL,
        DiffusionConfig(),
        LossConfig(),
        4,
        tiny_data,
        None,
    )
    straight = train(*args, tmp_path / "a.pt")
    with pytest.raises(KeyboardInterrupt):
        train(*args, tmp_path / "b.pt", _killed_at(4))
    resumed = train(*args, tmp_path / "b.pt")
    a, b = (torch.load(tmp_path / f, weights_only=True) for f in ("a.pt", "b.pt"))
    assert a["ema_updates"] == b["ema_updates"] == 6
    for key in ("model", "ema"):  # raw weights (to continue) and their average
        for name, v in a[key].items():
            assert torch.equal(v, b[key][name]), (key, name)
    for x, y in zip(
        straight.state_dict().values(), resumed.state_dict().values()
    ):  # train() returns the average
        assert torch.equal(x, y)
    assert any(not torch.equal(a["model"][k], a["ema"][k]) for k in a["model"])


def test_the_clean_up_knob_is_part_of_a_run_only_when_on():
    real = Params(train=TrainConfig(degradation="real"))
    plain = weight_settings(real)
    assert "model.cleanup" not in plain  # the identities of runs from before the knob hold
    knob = weight_settings(dataclasses.replace(real, model=ModelConfig(cleanup=True)))
    assert knob == {**plain, "model.cleanup": True}


def test_a_final_share_of_one_trains_every_patch_at_the_last_step(tmp_path, tiny_data, monkeypatch):
    seen, step = [], train_mod.train_step

    def recording(net, diffusion, loss_fn, opt, x0, y0, cond, t, noise, grad_clip=1.0):
        seen.append(t.clone())
        return step(net, diffusion, loss_fn, opt, x0, y0, cond, t, noise, grad_clip)

    monkeypatch.setattr(train_mod, "train_step", recording)
    cfg = TrainConfig(steps=3, batch_size=2, device="cpu", workers=0, final_share=1.0)
    train(cfg, MODEL, DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "c.pt")
    assert len(seen) == 3 and torch.all(torch.cat(seen) == DiffusionConfig().steps)


def test_each_patch_is_told_its_own_clean_up_level(tmp_path, tiny_data, monkeypatch):
    tiny_data.real, tiny_data.levels = RealPatches(RealConfig(), 4), True
    told, condition = [], train_mod.DualDomainUNet.condition

    def recording(self, y0, origin=None, scale=None, level=None):
        told.append(level.cpu())
        return condition(self, y0, origin, scale, level)

    monkeypatch.setattr(train_mod.DualDomainUNet, "condition", recording)
    cfg = TrainConfig(steps=3, batch_size=2, device="cpu", degradation="real", workers=0)
    model = dataclasses.replace(MODEL, cleanup=True)
    train(cfg, model, DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "c.pt")
    drawn = [tiny_data.batch(k)[4] for k in range(3)]
    assert len(told) == 3 and all(torch.equal(a, b) for a, b in zip(told, drawn))
    assert len(torch.cat(drawn).unique()) == 6  # a level per patch, not one per batch
