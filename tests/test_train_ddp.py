"""Data-parallel training under torchrun on the CPU (gloo), through the train stage itself
(slow)."""

import subprocess
import sys
import time

import pytest
import torch
import yaml

from tests.conftest import REPO
from tests.helpers.dvc_repo import (
    TINY,
    kill_once_checkpointed,
    logged_steps,
    make_repo,
    run,
    tiny_params,
    weights,
)

pytestmark = pytest.mark.slow
PY = sys.executable


def prepared_repo(tmp_path, **train):
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    tiny_params(
        repo / "params.yaml",
        train={**TINY["train"], "batch_size": 4, "lr": 1e-3, "workers": 1, **train},
    )
    run(f"{PY} stages/fetch.py && {PY} stages/prepare.py", repo, env)
    return repo, env


def set_train(repo, **values):
    p = yaml.safe_load((repo / "params.yaml").read_text())
    p["train"].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


@pytest.mark.parametrize("degradation", ["bicubic", "real", "real-any-scale-cleanup"])
def test_two_processes_train_the_weights_of_one_and_only_rank_0_writes(tmp_path, degradation):
    how = degradation.split("-")[0]
    repo, env = prepared_repo(tmp_path, steps=6, nproc=2, degradation=how)
    p = yaml.safe_load((repo / "params.yaml").read_text())  # any scale: each patch's scale too
    any_scale = "any-scale" in degradation
    p["model"]["scales"], p["evaluate"]["scales"] = ([1, 4], [2]) if any_scale else ([], [])
    p["model"]["cleanup"] = degradation.endswith("cleanup")  # each patch's level too
    (repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    out = run(f"{PY} stages/train.py", repo, env)
    assert out.count("trained 6 steps") == 1, out  # rank 0 alone prints
    assert logged_steps(repo) == [1, 2, 3, 4, 5, 6]  # and alone logs: every step once
    written = sorted(
        str(p.relative_to(repo)) for d in ("models", "checkpoints") for p in (repo / d).iterdir()
    )
    assert written == ["checkpoints/train.pt", "models/model.pt"]
    ck = repo / "checkpoints" / "train.pt"
    two, two_raw = weights(repo), torch.load(ck, weights_only=True)["model"]
    set_train(repo, nproc=1)
    run(f"{PY} stages/train.py", repo, env)
    one, one_raw = weights(repo), torch.load(ck, weights_only=True)["model"]
    # same global batch, same draws: equal up to the order of floating-point reductions (raw and EMA
    # weights), which Adam amplifies where a gradient is near zero. A different batch or draw moves
    # the weights by Adam's steps (lr = 1e-3 each): 10x the largest bound, 1000x the mean's.
    for a, b in ((two, one), (two_raw, one_raw)):  # the level head is fitted after, on rank 0
        diffs = torch.cat(
            [(a[k] - v).abs().flatten() for k, v in b.items() if "level_head" not in k]
        )
        assert diffs.max() < 1e-4 and diffs.mean() < 1e-6, (diffs.max(), diffs.mean())


def test_a_killed_ddp_run_resumes_to_the_uninterrupted_result(tmp_path):
    repo, env = prepared_repo(
        tmp_path, steps=120, nproc=2, checkpoint_every=10, eval_every=1000, log_every=5
    )
    run(f"{PY} stages/train.py", repo, env)
    straight = weights(repo)
    (repo / "checkpoints" / "train.pt").unlink()
    killed_at = kill_once_checkpointed(
        [PY, "stages/train.py"], repo, env, 30
    )  # torchrun's agent and both ranks
    assert 30 <= killed_at < 120
    out = run(f"{PY} stages/train.py", repo, env)
    assert f"resuming from checkpoints/train.pt at step {killed_at}" in out
    for k, v in weights(repo).items():
        assert torch.allclose(straight[k], v, atol=1e-6, rtol=1e-5), k
    steps = logged_steps(repo)
    assert len(steps) == len(set(steps)) and steps[-1] == 120


def test_a_failing_rank_stops_the_whole_run_with_its_error(tmp_path):
    worker = str(REPO / "tests" / "helpers" / "ddp_train.py")
    launch = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", worker]
    cmd = [*launch, str(tmp_path), "cpu", "50", "1"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "injected failure in rank 1" in r.stdout + r.stderr
    assert time.time() - t0 < 120  # the other rank is stopped, not left waiting in an all-reduce
    assert not (tmp_path / "final.pt").exists()


def test_a_non_finite_loss_on_one_rank_is_skipped_by_every_rank(tmp_path):
    # rank 1's third loss is NaN while its gradient, all-reduced, is finite: both ranks must skip
    # that step together, or the replicas part for the rest of the run
    worker = str(REPO / "tests" / "helpers" / "ddp_train.py")
    cmd = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", worker]
    r = subprocess.run(
        [*cmd, str(tmp_path), "cpu", "6", "1", "nan"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "step 3: non-finite gradient, or loss on another process, step skipped" in r.stdout
    rank0, rank1 = (torch.load(tmp_path / f, weights_only=True) for f in ("final.pt", "final1.pt"))
    for k, v in rank0.items():
        assert torch.equal(v, rank1[k]), k
