"""The user's loop on a fresh copy of the repository, with tiny parameters (slow): `dvc repro`,
nothing to do the second time, `dvc exp run -S ...` that really trains what it says, reports that
render."""

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from srcore.app.catalogue import Catalogue, experiment_entries
from srcore.net.checkpoint import load_model
from tests.conftest import REQUIRED_METRIC_KEYS, SHARED_DATASETS
from tests.helpers.dvc_repo import (
    TINY,
    kill_once_checkpointed,
    logged_steps,
    make_repo,
    run,
    tiny_params,
    weights,
)
from tests.helpers.lpips_weights import write_weights
from tests.helpers.reports import assert_metrics_listed, assert_vega_field_types

pytestmark = pytest.mark.slow
UP_TO_DATE = "Data and pipelines are up to date."


def test_repro_is_stable_and_every_experiment_trains_what_it_says(tmp_path):
    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.fail(
            "dvc is not installed in this environment: "
            "make test installs it (pip install -e '.[dev]')"
        )
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    set5 = (
        SHARED_DATASETS / "Set5"
    )  # a benchmark folder scored by the evaluate stage, when ../shared has it
    tiny_params(
        repo / "params.yaml",
        evaluate={**TINY["evaluate"], "benchmarks": [str(set5)] if set5.is_dir() else []},
    )
    run("git init -q && git add -A && git commit -qm init", repo, env)

    # the baseline, its metrics and reports
    out = run("dvc repro", repo, env)
    assert "LPIPS not scored: evaluate.lpips_dir is empty" in out
    metrics = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert REQUIRED_METRIC_KEYS <= set(metrics), REQUIRED_METRIC_KEYS - set(metrics)
    assert (
        metrics["steps"] == 2 and metrics["n_images"] == 2 and 20 < metrics["psnr_y_bicubic"] < 40
    )
    real = metrics["real"]  # every listed degradation under its name, bicubic at the top
    assert {"psnr_y", "psnr_y_bicubic", "psnr_y_gain", "patch_psnr_y", "n_images"} <= set(real)
    assert real["psnr_y_bicubic"] < metrics["psnr_y_bicubic"] - 1  # the same images, degraded
    if set5.is_dir():
        assert metrics["Set5"]["n_images"] == 5 and metrics["Set5"][
            "psnr_y_bicubic"
        ] == pytest.approx(28.43, abs=0.02)
        assert real["Set5"]["n_images"] == 5
        assert real["Set5"]["psnr_y_bicubic"] < metrics["Set5"]["psnr_y_bicubic"] - 1
    # the default model takes x1..x4: x4 at the top level, evaluate.scales under x<scale>
    assert metrics["scale"] == 4 and {"x2", "x3"} <= set(metrics) and "x3" in real
    assert metrics["x2"]["psnr_y_bicubic"] > metrics["psnr_y_bicubic"] + 1  # the easier task
    assert "patch_psnr_y" not in metrics["x2"]  # the fixed patches are the prepared scale's
    if set5.is_dir():
        assert metrics["x2"]["Set5"]["psnr_y_bicubic"] == pytest.approx(33.67, abs=0.02)
    pngs = sorted(p.name for p in (repo / "plots").glob("*.png"))
    assert {"chain.png", "gain.png", "training.png"} <= set(pngs)
    assert any(n.startswith("compare_real_") for n in pngs)
    assert any(n.startswith("compare_x2_") for n in pngs)
    model, dcfg, ck = load_model(repo / "models" / "model.pt")
    assert (
        model.cfg.width == 8
        and dcfg.kappa == 2.0
        and ck["steps"] == 6
        and metrics["params_count"] == model.num_params()
    )
    assert logged_steps(repo) == [1, 2, 3, 4, 5, 6]
    assert_vega_field_types(repo, env)
    assert_metrics_listed(repo, env)
    assert (
        "chain.png" in run("dvc plots show -o dvc_plots", repo, env)
        or (repo / "dvc_plots" / "index.html").is_file()
    )

    # nothing changed: byte-code and the tools' use of the package re-run nothing
    run(f"{sys.executable} -m compileall -q .", repo, env)
    py = sys.executable
    run(
        f"{py} -m srcore.commands.evaluate --model models/model.pt --hr-dir data/raw/valid "
        "--steps 1 "
        f"--out {tmp_path}/e.json",
        repo,
        env,
    )
    run(
        f"{sys.executable} -m srcore.commands.upscale data/raw/valid -o {tmp_path}/up --steps 1 "
        "--tile 0",
        repo,
        env,
    )
    assert (repo / "srcore" / "__pycache__").is_dir()
    assert UP_TO_DATE in run("dvc repro", repo, env)
    assert "up to date" in run("dvc status", repo, env)
    run("git add -A && git commit -qm baseline", repo, env)
    baseline = weights(repo)

    # other scales of the same model: only evaluate runs, x4 again equals the top level
    out = run("dvc exp run -n scales -S 'evaluate.scales=[2.5,4]'", repo, env)
    assert "Running stage 'train'" not in out, out
    m = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert "x2" not in m and m["real"]["x2.5"]["n_images"] == 2
    assert m["x4"]["psnr_y"] == m["psnr_y"]  # the same LR, noise and score
    assert m["x2.5"]["psnr_y_bicubic"] > m["psnr_y_bicubic"] + 0.5  # an easier task than x4
    # the stage tells the network 2.5, as srcore-evaluate does at --scale 2.5: the same scores
    run(
        f"{py} -m srcore.commands.evaluate --model models/model.pt --hr-dir data/raw/valid "
        "--steps 2 "
        f"--scale 2.5 --out {tmp_path}/x25.json",
        repo,
        env,
    )
    at_25 = json.loads((tmp_path / "x25.json").read_text())
    assert at_25["n_images"] == 2 and m["x2.5"]["psnr_y"] == pytest.approx(
        at_25["psnr_y"], abs=1e-9
    )

    # each experiment trains all its steps from scratch and reports its own model
    out = run("dvc exp run -n no-freq -S loss.freq_weight=0", repo, env)
    assert (
        "is another run (loss.freq_weight: 2.0 -> 0.0" in out and "training from scratch" in out
    ), out
    assert logged_steps(repo) == [1, 2, 3, 4, 5, 6]
    assert any(not torch.equal(baseline[k], v) for k, v in weights(repo).items())
    assert (
        load_model(repo / "models" / "model.pt")[2]["identity"]["settings"]["loss.freq_weight"]
        == 0.0
    )
    new = json.loads((repo / "metrics" / "metrics.json").read_text())
    diff = json.loads(run("dvc metrics diff HEAD --json", repo, env))["metrics/metrics.json"]
    assert diff["psnr_y"]["old"] == pytest.approx(metrics["psnr_y"]) and diff["psnr_y"][
        "new"
    ] == pytest.approx(new["psnr_y"])
    assert "psnr_y_bicubic" not in diff  # same images, same degradation: bicubic does not move
    assert "freq_weight" in run("dvc params diff HEAD", repo, env)

    real = "-S prepare.patch=128 -S train.degradation=real -S evaluate.cleanup=auto"
    real += " -S evaluate.scales=auto"  # the photo recipe: x4 alone
    out = run(f"dvc exp run -n real128 {real}", repo, env)
    assert "training from scratch" in out, out  # the settings it changed: below
    assert logged_steps(repo) == [1, 2, 3, 4, 5, 6]
    settings = load_model(repo / "models" / "model.pt")[2]["identity"]["settings"]
    assert settings["prepare.patch"] == 128 and settings["train.degradation"] == "real"
    assert settings["real.jpeg_range"] == [50.0, 95.0] and settings["model.cleanup"] is True
    assert settings["model.scales"] == [] and settings["train.final_share"] == 1.0
    level = json.loads((repo / "metrics" / "metrics.json").read_text())["real"]["level"]
    assert 0 <= level <= 1  # told auto: the mean level its head picked
    assert "level head: predicts each level's gain within" in out, out
    # the clean-up knob told another level on the real inputs: only evaluate runs
    out = run("dvc exp run -n level0 -S evaluate.cleanup=0", repo, env)
    assert "Running stage 'train'" not in out, out

    # a dedicated x4 model: the single-scale setting
    single = "-S prepare.patch=64 -S train.degradation=bicubic -S model.cleanup=false"
    single += " -S 'model.scales=[]'"
    out = run(f"dvc exp run -n x4only {single} -S 'evaluate.scales=[]'", repo, env)
    assert "training from scratch" in out, out
    assert "evaluate.cleanup = 0 not used: the model has no clean-up knob" in out, out
    _, _, ck = load_model(repo / "models" / "model.pt")
    assert ck["model_config"]["scales"] == () and ck["scale"] == 4
    m = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert not any(k.startswith("x") for k in m)

    rows = json.loads(run("dvc exp show --json", repo, env))  # name None: the workspace
    exps = {
        e["name"]: e
        for r in rows
        for e in [r, *[x for ex in r.get("experiments") or [] for x in ex["revs"]]]
    }
    metrics_of = {
        n: e["data"]["metrics"]["metrics/metrics.json"]["data"] for n, e in exps.items() if n
    }
    names = {"master", "scales", "no-freq", "real128", "level0", "x4only"}
    assert set(metrics_of) == names, metrics_of
    assert metrics_of["scales"]["psnr_y"] == metrics_of["master"]["psnr_y"]  # the same model
    # srcore-app offers each one's model from the cache, by the name dvc exp show gives it
    offered = Catalogue(experiment_entries(repo, env), "cpu")
    assert {e["name"] for e in offered.listing()} == names
    assert offered.card("x4only")["scales"] == [4.0, 4.0] and offered.card("real128")["cleanup"]
    assert offered.card("master")["scales"] == [1.0, 4.0] and not offered.card("master")["cleanup"]
    knob, level0 = metrics_of["real128"], metrics_of["level0"]  # told auto, then told 0
    assert "level" in knob["real"] and "level" not in level0["real"]
    assert level0["real"]["psnr_y"] != knob["real"]["psnr_y"]
    trained = {n: m for n, m in metrics_of.items() if n not in ("scales", "level0")}
    assert len({m["psnr_y"] for m in trained.values()}) == 4  # on clean LR
    assert len({m["real"]["psnr_y"] for m in trained.values()}) == 4  # on real-degraded LR
    assert metrics_of["scales"]["x2.5"]["psnr_y"] > 0
    table = run("dvc exp show --md", repo, env)
    assert "real.psnr_y" in table and "x2.5.psnr_y" in table and "x2.psnr_y" in table
    if set5.is_dir():  # the benchmark's figures per experiment, for dvc exp show / metrics diff
        set5_scores = {n: m["Set5"]["psnr_y"] for n, m in trained.items()}
        assert len(set(set5_scores.values())) == 4, set5_scores

    # LPIPS beside PSNR in every block once its weights are on disk: only evaluate runs again
    write_weights(tmp_path / "lpips")
    out = run(f"dvc exp run -n lpips -S evaluate.lpips_dir={tmp_path / 'lpips'}", repo, env)
    assert "Running stage 'train'" not in out, out
    m = json.loads((repo / "metrics" / "metrics.json").read_text())
    blocks = [m, m["real"], *([m["Set5"], m["real"]["Set5"]] if set5.is_dir() else [])]
    assert all(b["lpips"] > 0 and b["lpips_bicubic"] > 0 for b in blocks)


def test_queued_experiments_run_in_parallel_each_with_its_own_run(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    tiny_params(repo / "params.yaml")
    run("git init -q && git add -A && git commit -qm init", repo, env)
    run(
        "dvc exp run --queue -n k05 -S kappa=0.5 && dvc exp run --queue -n k1 -S kappa=1.0",
        repo,
        env,
    )
    run("dvc queue start -j 2", repo, env)
    deadline = time.time() + 540
    while time.time() < deadline:
        status = run("dvc queue status", repo, env)
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(3)
    assert status.count("Success") == 2, status + run("dvc queue logs k05", repo, env)
    rows = json.loads(run("dvc exp show --json", repo, env))
    exps = {x["name"]: x for r in rows for ex in r.get("experiments") or [] for x in ex["revs"]}
    assert set(exps) == {"k05", "k1"}, set(exps)
    data = {n: e["data"] for n, e in exps.items()}
    assert {n: d["params"]["params.yaml"]["data"]["kappa"] for n, d in data.items()} == {
        "k05": 0.5,
        "k1": 1.0,
    }
    scores = {n: d["metrics"]["metrics/metrics.json"]["data"]["psnr_y"] for n, d in data.items()}
    assert scores["k05"] != scores["k1"]
    for d in (
        data.values()
    ):  # each trained all its steps from scratch, in its own copy of the repository
        assert d["metrics"]["dvclive/metrics.json"]["data"]["step"] == 6
    assert "k05" in run("dvc exp show --md", repo, env)
    run(
        "dvc exp apply k1", repo, env
    )  # its own run, whole: every step logged, its kappa in the model
    assert (
        logged_steps(repo) == [1, 2, 3, 4, 5, 6]
        and load_model(repo / "models" / "model.pt")[1].kappa == 1.0
    )


@pytest.mark.slow
def test_sigkill_during_dvc_repro_then_repro_continues(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    env = make_repo(repo)
    train = {"steps": 300, "batch_size": 2, "checkpoint_every": 20, "eval_every": 1000}
    tiny_params(repo / "params.yaml", train={**train, "log_every": 5, "eval_sample_steps": 2})
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
