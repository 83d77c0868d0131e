"""A fresh copy of the project as its own git + DVC repository, with tiny parameters, for end-to-end
tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

TINY = {
    "prepare": {"patch": 64, "train_patches_per_image": 2, "valid_patches_per_image": 2},
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
    "evaluate": {"steps": 2, "degradations": ["bicubic", "real"]},
    "plots": {"examples": 1, "zoom": 48},
}


def tiny_params(path: Path, **overrides) -> dict:
    p = yaml.safe_load(path.read_text())
    for group, values in {**TINY, **overrides}.items():
        p[group].update(values)
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return p


def make_repo(dst: Path) -> dict:
    """Copy the project (not its data, outputs or venv) into `dst`; returns the env to run DVC
    in."""
    for name in (
        "srcore",
        "stages",
        ".dvc",
        "dvc.yaml",
        "params.yaml",
        ".dvcignore",
        ".gitignore",
        "pyproject.toml",
    ):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(
                src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache")
            )
        else:
            shutil.copy2(src, dst / name)
    # DVC's own settings only: never the team's remote, nor a developer's config.local
    (dst / ".dvc" / "config.local").unlink(missing_ok=True)
    (dst / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    git = {
        f"GIT_{who}_{what}": "t@t" if what == "EMAIL" else "t"
        for who in ("AUTHOR", "COMMITTER")
        for what in ("NAME", "EMAIL")
    }
    env = {
        **os.environ,
        **git,
        "PYTHONPATH": str(dst),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    return env


def weights(repo: Path) -> dict:
    """The state dict of the repository's models/model.pt."""
    from srcore.net.checkpoint import load_model

    return load_model(repo / "models" / "model.pt")[0].state_dict()


def logged_steps(repo: Path) -> list[int]:
    """The steps of the DVCLive training-loss log."""
    import pandas as pd

    return pd.read_csv(repo / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv", sep="\t")[
        "step"
    ].tolist()


def kill_once_checkpointed(
    cmd: list[str], repo: Path, env: dict, step: int, timeout: float = 300
) -> int:
    """Start cmd in its own process group, SIGKILL the whole group once checkpoints/train.pt has
    reached
    `step`; returns the checkpoint's step then (the file is always whole: it is written
    atomically)."""
    import os
    import signal
    import time

    import torch

    proc = subprocess.Popen(
        cmd,
        cwd=repo,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ck, deadline, done = repo / "checkpoints" / "train.pt", time.time() + timeout, 0
    while time.time() < deadline and done < step:
        time.sleep(0.2)
        if ck.is_file():
            done = torch.load(ck, weights_only=True)["step"]
    os.killpg(proc.pid, signal.SIGKILL)  # dvc or torchrun's agent, and the training under it
    proc.wait()  # reaped, as a shell would; DVC then releases the dead process's lock by itself
    return torch.load(ck, weights_only=True)["step"]


def run(cmd: str, cwd: Path, env: dict) -> str:
    """Run a shell command; fail the test with its output unless it succeeds. Returns its stdout."""
    r = subprocess.run(
        cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout
