"""Interruption, non-finite losses, bad parameters, interrupted writes."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import srcore.train as train_mod
from srcore.checkpoint import load_model, save_checkpoint
from srcore.data import PatchBatches, save_array
from srcore.diffusion import DiffusionConfig
from srcore.losses import LossConfig
from srcore.model import DualDomainUNet, ModelConfig
from srcore.params import ParamError, validate
from srcore.train import NonFiniteLoss, TrainConfig, train
from tests.conftest import REPO
from tests.test_pipeline_e2e import make_repo, run, tiny_params


def default_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize(
    "key,value,words",
    [
        ("kappa", -1.0, "kappa = -1.0 is not allowed: must be a number > 0"),
        ("train.steps", 0, "train.steps = 0 is not allowed: must be an integer >= 1"),
        ("diffusion.steps", 0, "diffusion.steps = 0"),
        ("prepare.scale", 5, "prepare.scale = 5 is not allowed: must be 2, 3 or 4"),
        ("prepare.patch", 50, "prepare.patch = 50 is not allowed: must be a multiple of 32"),
        ("data.source", "imagenet", "data.source = 'imagenet' is not allowed: must be one of: sample, div2k, folder"),
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
        validate(p)


def test_unknown_and_missing_keys():
    p = default_params()
    p["train"]["stpes"] = 10
    with pytest.raises(ParamError, match="unknown key 'train.stpes'"):
        validate(p)
    p = default_params()
    del p["model"]["width"]
    with pytest.raises(ParamError, match="missing key 'model.width'"):
        validate(p)


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


def _nan_on(steps: set[int]):
    real = train_mod.SRLoss

    class Flaky(real):
        calls = 0

        def forward(self, pred, target):
            Flaky.calls += 1
            loss = super().forward(pred, target)
            return loss * float("nan") if Flaky.calls in steps else loss

    return Flaky


def test_nan_steps_are_skipped_and_counted(tmp_path, tiny_data, monkeypatch, capsys):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on({3, 4}))
    logged = {}
    cfg = TrainConfig(steps=8, batch_size=2, checkpoint_every=2, log_every=1, max_nonfinite=3, device="cpu")
    model = train(cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None,
                  tmp_path / "ck.pt", lambda m, s: logged.update({s: m}))  # fmt: skip
    out = capsys.readouterr().out
    assert "step 3: loss is nan, step skipped (1 so far)" in out and "step 4: loss is nan, step skipped (2 so far)" in out
    assert logged[8]["train/skipped"] == 2 and all(torch.isfinite(p).all() for p in model.parameters())


def test_persistent_nan_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setattr(train_mod, "SRLoss", _nan_on(set(range(5, 100))))
    cfg = TrainConfig(steps=20, batch_size=2, checkpoint_every=2, max_nonfinite=3, device="cpu")
    with pytest.raises(NonFiniteLoss, match=r"last at step 7; last good checkpoint: .*ck\.pt \(step 6\)"):
        train(cfg, ModelConfig(width=8, time_dim=16), DiffusionConfig(), LossConfig(), 4, tiny_data, None, tmp_path / "ck.pt")


@pytest.mark.slow
def test_sigkill_during_dvc_repro_then_repro_continues(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    tiny_params(repo / "params.yaml", train={"steps": 300, "batch_size": 2, "checkpoint_every": 20, "eval_every": 1000,
                                             "log_every": 5, "eval_sample_steps": 2})  # fmt: skip
    run("git init -q && git add -A && git commit -qm init", repo, env)
    dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
    proc = subprocess.Popen([dvc, "repro"], cwd=repo, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    ck, deadline, step = repo / "checkpoints" / "train.pt", time.time() + 300, 0
    while time.time() < deadline and step < 40:
        time.sleep(0.2)
        if ck.is_file():
            step = torch.load(ck, weights_only=True)["step"]  # always a whole file: written atomically
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: dvc and the training under it
    proc.wait()  # reaped, as a shell would; DVC then releases the dead process's lock by itself
    killed_at = torch.load(ck, weights_only=True)["step"]
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
