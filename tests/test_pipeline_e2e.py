"""The user's three commands on a fresh copy of the repository, with tiny parameters (slow)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from srcore.checkpoint import load_model
from tests.conftest import REPO, REQUIRED_METRIC_KEYS

pytestmark = pytest.mark.slow

TINY = {
    "prepare": {"patch": 32, "train_patches_per_image": 2, "valid_patches_per_image": 2},
    "model": {"width": 8, "time_dim": 16},
    "train": {
        "steps": 6,
        "batch_size": 2,
        "lr": 0.01,
        "checkpoint_every": 3,
        "eval_every": 3,
        "eval_sample_steps": 2,
        "log_every": 1,
    },
    "evaluate": {"steps": 2},
    "plots": {"examples": 1, "zoom": 48},
}


def tiny_params(path: Path, **overrides) -> dict:
    p = yaml.safe_load(path.read_text())
    for group, values in {**TINY, **overrides}.items():
        p[group].update(values)
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return p


def make_repo(dst: Path) -> dict:
    """Copy the project (not its data or venv) into a new git repo; returns the env to run DVC in."""
    for name in ("srcore", "stages", ".dvc", "dvc.yaml", "params.yaml", ".dvcignore", ".gitignore", "pyproject.toml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
        else:
            shutil.copy2(src, dst / name)
    env = {**os.environ, "PYTHONPATH": str(dst), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "DVC_NO_ANALYTICS": "1"}  # fmt: skip
    return env


def run(cmd: str, cwd: Path, env: dict) -> str:
    r = subprocess.run(cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_repro_exp_run_metrics_diff(tmp_path):
    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("dvc is not installed in this environment: make test installs it (pip install -e '.[dev]')")
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    tiny_params(repo / "params.yaml")
    run("git init -q && git add -A && git commit -qm init", repo, env)

    run("dvc repro", repo, env)
    metrics = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert REQUIRED_METRIC_KEYS <= set(metrics), REQUIRED_METRIC_KEYS - set(metrics)
    assert metrics["steps"] == 2 and metrics["n_images"] == 2 and 20 < metrics["psnr_y_bicubic"] < 40
    assert metrics["psnr_y_gain"] == pytest.approx(metrics["psnr_y"] - metrics["psnr_y_bicubic"])
    pngs = sorted(p.name for p in (repo / "plots").glob("*.png"))
    assert {"chain.png", "gain.png", "training.png"} <= set(pngs) and any(n.startswith("compare_") for n in pngs)
    model, dcfg, ck = load_model(repo / "models" / "model.pt")
    assert model.cfg.width == 8 and dcfg.kappa == 2.0 and ck["steps"] == 6 and metrics["params_count"] == model.num_params()
    assert (repo / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv").is_file()
    html = run("dvc plots show -o dvc_plots", repo, env)
    assert "index.html" in html and "chain.png" in (repo / "dvc_plots" / "index.html").read_text()
    run("git add -A && git commit -qm baseline", repo, env)

    run("dvc exp run -S kappa=1.0", repo, env)
    shown = json.loads(run("dvc exp show --json", repo, env))
    text = json.dumps(shown)
    assert '"kappa": 1.0' in text and '"kappa": 2.0' in text
    assert load_model(repo / "models" / "model.pt")[1].kappa == 1.0
    new = json.loads((repo / "metrics" / "metrics.json").read_text())
    diff = json.loads(run("dvc metrics diff HEAD --json", repo, env))["metrics/metrics.json"]
    assert diff["psnr_y"]["old"] == pytest.approx(metrics["psnr_y"]) and diff["psnr_y"]["new"] == pytest.approx(new["psnr_y"])
    assert "psnr_y_bicubic" not in diff  # same images, same degradation: bicubic does not move
    assert "psnr_y" in run("dvc metrics diff HEAD", repo, env)  # the table a user reads
    assert "kappa" in run("dvc params diff HEAD", repo, env)
    assert torch.load(repo / "checkpoints" / "train.pt", weights_only=True)["diffusion_config"]["kappa"] == 1.0
