"""Interruption, non-finite losses, bad parameters, interrupted writes."""

import copy
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import srcore.train as train_mod
from srcore.cache import save_array
from srcore.checkpoint import load_model, save_checkpoint
from srcore.data import PatchBatches
from srcore.diffusion import DiffusionConfig
from srcore.losses import LossConfig
from srcore.model import DualDomainUNet, ModelConfig
from srcore.params import ParamError, parse
from srcore.train import NonFiniteLoss, TrainConfig, train
from tests.conftest import REPO
from tests.dvc_repo import kill_once_checkpointed, make_repo, run, tiny_params


def default_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize(
    "key,value,words",
    [
        ("kappa", -1.0, "kappa = -1.0 is not allowed: must be a number > 0"),
        ("train.steps", 0, "train.steps = 0 is not allowed: must be an integer >= 1"),
        ("diffusion.steps", 0, "diffusion.steps = 0"),
        ("prepare.scale", 5, "prepare.scale = 5 is not allowed: must be one of: 2, 3, 4"),
        ("prepare.patch", 50, "prepare.patch = 50 is not allowed: must be a multiple of 64"),
        ("data.source", "imagenet", "data.source = 'imagenet' is not allowed: must be one of: sample, folder, div2k"),
        ("evaluate.steps", 20, "evaluate.steps = 20 is not allowed: must be at most diffusion.steps = 15"),
        ("model.amp_kernel", 4, "model.amp_kernel = 4"),
        ("train.lr", "fast", "train.lr = 'fast'"),
        ("train.compile", 1, "train.compile = 1"),
    ],
)
def test_bad_parameters_name_key_value_and_what_is_allowed(key, value, words):
    p = default_params()
    group, _, name = key.rpartition(".")
    (p[group] if group else p)[name] = value
    with pytest.raises(ParamError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse(p)


def test_unknown_and_missing_keys():
    p = default_params()
    p["train"]["stpes"] = 10
    with pytest.raises(ParamError, match="unknown key 'train.stpes'"):
        parse(p)
    p = default_params()
    del p["model"]["width"]
    with pytest.raises(ParamError, match="missing key 'model.width'"):
        parse(p)


def test_a_stage_stops_with_one_line_before_heavy_work(tmp_path):
    p = default_params()
    p["kappa"] = -2
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p))
    r = subprocess.run([sys.executable, str(REPO / "stages" / "train.py")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: params.yaml: kappa = -2 is not allowed: must be a number > 0"


def test_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16))
    save_checkpoint(path, m, DiffusionConfig(), 4, step=1)

    def dies(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise KeyboardInterrupt  # the process is stopped mid-write

    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, m, DiffusionConfig(), 4, step=2)
    monkeypatch.undo()
    assert load_model(path)[2]["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


@pytest.fixture
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save_array(tmp_path / "cache" / "train" / "a.png.hr.npy", img)
    save_array(tmp_path / "cache" / "train" / "a.png.y0.npy", img // 2 + 60)
    index = pd.DataFrame(
        [("train", "a.png", 0, 0, 32), ("train", "a.png", 32, 32, 32)], columns=["split", "image", "top", "left", "size"]
    )
    return PatchBatches(tmp_path / "cache", index, "train", 2, 0)


def _nan_on(steps: set[int], gradient_only: bool = False):
    real = train_mod.SRLoss

    class Flaky(real):
        calls = 0

        def forward(self, pred, target):
            Flaky.calls += 1
            loss = super().forward(pred, target)
            if Flaky.calls not in steps:
                return loss
            if gradient_only:  # the value stays finite; d sqrt(x)/dx at 0 is inf, times 0: NaN gradients
                return loss + 0.0 * torch.sqrt(0.0 * pred.sum())
            return loss * float("nan")

    return Flaky


def test_nan_steps_are_skipped_and_counted(tmp_path, tiny_data, monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on({3, 4}))
    logged = {}
    cfg = TrainConfig(steps=8, batch_size=2, checkpoint_every=2, log_every=1, max_nonfinite=3, device="cpu")
    model = train(cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None,
                  tmp_path / "ck.pt", lambda m, s: logged.update({s: m}))  # fmt: skip
    out = capsys.readouterr().out
    assert "step 3: non-finite loss (nan), step skipped (1 so far)" in out
    assert "step 4: non-finite loss (nan), step skipped (2 so far)" in out
    assert logged[8]["train/skipped"] == 2 and all(torch.isfinite(p).all() for p in model.parameters())


def test_a_finite_loss_with_non_finite_gradients_is_skipped(tmp_path, tiny_data, monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on({2}, gradient_only=True))
    cfg = TrainConfig(steps=3, batch_size=2, checkpoint_every=1, log_every=1, device="cpu")
    model = train(cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    assert "step 2: non-finite gradient, step skipped (1 so far)" in capsys.readouterr().out
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.load(tmp_path / "ck.pt", weights_only=True)["skipped"] == 1


def test_persistent_nan_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on(set(range(5, 100))))
    cfg = TrainConfig(steps=20, batch_size=2, checkpoint_every=2, max_nonfinite=3, device="cpu")
    # steps 5, 6, 7 are non-finite: no checkpoint is written during the streak, so step 4's is the last good one
    with pytest.raises(NonFiniteLoss, match=r"last at step 7; last good checkpoint: .*ck\.pt \(step 4\)"):
        train(cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    assert torch.load(tmp_path / "ck.pt", weights_only=True)["step"] == 4


@pytest.mark.slow
def test_sigkill_during_dvc_repro_then_repro_continues(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    tiny_params(repo / "params.yaml", train={"steps": 300, "batch_size": 2, "checkpoint_every": 20, "eval_every": 1000,
                                             "log_every": 5, "eval_sample_steps": 2})  # fmt: skip
    run("git init -q && git add -A && git commit -qm init", repo, env)
    dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
    killed_at = kill_once_checkpointed([dvc, "repro"], repo, env, 40)
    ck = repo / "checkpoints" / "train.pt"
    assert 40 <= killed_at < 300
    out = run("dvc repro", repo, env)
    assert f"resuming from checkpoints/train.pt at step {killed_at}" in out
    _, _, final = load_model(repo / "models" / "model.pt")
    assert final["steps"] == 300 and torch.load(ck, weights_only=True)["step"] == 300
    loss = pd.read_csv(repo / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv", sep="\t")
    assert loss["step"].is_unique and loss["step"].max() == 300
    assert json.loads((repo / "metrics" / "metrics.json").read_text())["n_images"] == 2


def test_resumed_training_equals_an_uninterrupted_run(tmp_path, tiny_data):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None)
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
    mcfg, ck = ModelConfig(width=8, time_dim=16), tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, mcfg, DiffusionConfig(), LossConfig(), 4, tiny_data, None, ck, _killed_at(4))
    # a weight-changing setting differs: one line naming it, then all 6 steps from scratch
    other = train(cfg, mcfg, DiffusionConfig(), LossConfig(freq_weight=0.0), 4, tiny_data, None, tmp_path / "x.pt")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, mcfg, DiffusionConfig(), LossConfig(), 4, tiny_data, None, ck, _killed_at(4))
    capsys.readouterr()
    logged, no_freq = [], LossConfig(freq_weight=0.0)
    again = train(cfg, mcfg, DiffusionConfig(), no_freq, 4, tiny_data, None, ck, lambda m, s: logged.append(s))
    out = capsys.readouterr().out
    assert "is another run (loss.freq_weight: 2.0 -> 0.0): training from scratch" in out and logged == [1, 2, 3, 4, 5, 6]
    for a, b in zip(other.parameters(), again.parameters()):
        assert torch.equal(a, b)
    # the scale, a prepare setting, is part of the run too
    train(cfg, mcfg, DiffusionConfig(), LossConfig(freq_weight=0.0), 2, tiny_data, None, ck, _killed_at(99))
    assert "prepare.scale: 4 -> 2" in capsys.readouterr().out
    # a finished run is not continued (0 steps would save the old weights again)
    train(cfg, mcfg, DiffusionConfig(), LossConfig(freq_weight=0.0), 2, tiny_data, None, ck)
    assert "is a finished run (step 6): training from scratch" in capsys.readouterr().out


def test_cadence_and_device_changes_still_resume(tmp_path, tiny_data, capsys):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, *args, _killed_at(4))
    cadence = TrainConfig(**{**cfg.to_dict(), "eval_every": 7, "log_every": 2, "checkpoint_every": 2, "device": "auto"})
    train(cadence, *args)
    assert "resuming from" in capsys.readouterr().out


def test_code_or_data_changes_are_another_run(tmp_path, tiny_data, capsys):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu")
    args = (cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")
    settings = train_mod.run_identity({})["settings"]
    with pytest.raises(KeyboardInterrupt):
        train(*args, _killed_at(4), train_mod.run_identity(settings, "code-a", "data-a"))
    train(*args, identity=train_mod.run_identity(settings, "code-b", "data-a"), log=_killed_at(99))
    assert "another run (the code changed)" in capsys.readouterr().out
    train(*args, identity=train_mod.run_identity(settings, "code-b", "data-b"))
    assert "another run (the training data changed)" in capsys.readouterr().out


def test_the_code_fingerprint_is_stable_across_processes_and_copies(tmp_path):
    shutil.copytree(REPO / "srcore", tmp_path / "srcore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "stages", tmp_path / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    code = "import srcore.train as t; print(t.code_fingerprint(['stages/train.py']))"
    prints = []
    for root, hashseed in ((REPO, "1"), (REPO, "2"), (tmp_path, "3")):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(root)}
        prints.append(subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True).stdout)
    assert prints[0] and len(set(prints)) == 1, prints
    (tmp_path / "srcore" / "noise.py").write_text((tmp_path / "srcore" / "noise.py").read_text() + "\n# changed\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    changed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True).stdout
    assert changed and changed != prints[0]


def test_ema_follows_its_formula_on_a_toy_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    average = copy.deepcopy(model)
    expected = [p.detach().clone() for p in model.parameters()]
    for n in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        d = train_mod.ema_decay(n, 0.9)
        assert d == min(0.9, (1 + n) / (10 + n))
        train_mod.ema_update(average, model, d)
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, model.parameters())]
    for a, e in zip(average.parameters(), expected):
        assert torch.allclose(a, e, atol=1e-6)
    assert train_mod.ema_decay(0, 0.999) == 0.1 and train_mod.ema_decay(10**6, 0.999) == 0.999


def test_resume_restores_raw_and_ema_weights_exactly(tmp_path, tiny_data):
    cfg = TrainConfig(steps=6, batch_size=2, checkpoint_every=3, log_every=1, device="cpu", ema=0.9)
    args = (cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None)
    straight = train(*args, tmp_path / "a.pt")
    with pytest.raises(KeyboardInterrupt):
        train(*args, tmp_path / "b.pt", _killed_at(4))
    resumed = train(*args, tmp_path / "b.pt")
    a, b = (torch.load(tmp_path / f, weights_only=True) for f in ("a.pt", "b.pt"))
    assert a["ema_updates"] == b["ema_updates"] == 6
    for key in ("model", "ema"):  # raw weights (to continue) and their average
        for name, v in a[key].items():
            assert torch.equal(v, b[key][name]), (key, name)
    for x, y in zip(straight.state_dict().values(), resumed.state_dict().values()):  # train() returns the average
        assert torch.equal(x, y)
    assert any(not torch.equal(a["model"][k], a["ema"][k]) for k in a["model"])
