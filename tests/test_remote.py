"""Sharing results (slow): a run pushed to a DVC remote (a local folder) and a git remote (a local
bare repository) is pulled into a fresh clone that needs no training: `dvc status` clean,
`dvc repro` has nothing to do, the metrics equal, the model upscales; experiments travel with
`dvc exp push`."""

import json

import pytest
import torch

from tests.helpers.dvc_repo import make_repo, run, tiny_params, weights

pytestmark = pytest.mark.slow
UP_TO_DATE = "Data and pipelines are up to date."


def test_push_then_pull_into_a_fresh_clone_reproduces_without_training(tmp_path):
    proj, store, origin, clone = (tmp_path / n for n in ("proj", "store", "origin.git", "clone"))
    proj.mkdir()
    env = make_repo(proj)
    tiny_params(proj / "params.yaml", evaluate={"steps": 1, "scales": [2.0]})
    run("git init -q && git add -A && git commit -qm init", proj, env)
    run("dvc repro", proj, env)
    run(f"dvc remote add -d storage {store}", proj, env)
    run("git add -A && git commit -qm 'baseline run, shared'", proj, env)
    run("dvc push", proj, env)
    run(f"git init -q --bare {origin} && git push -q {origin} HEAD:main", proj, env)
    run(f"git remote add origin {origin}", proj, env)

    run(f"git clone -q -b main {origin} {clone}", tmp_path, env)
    cenv = {**env, "PYTHONPATH": str(clone)}
    assert not (clone / "models" / "model.pt").exists()
    run("dvc pull", clone, cenv)
    assert UP_TO_DATE in run("dvc status", clone, cenv)
    out = run("dvc repro", clone, cenv)
    assert UP_TO_DATE in out and "Running stage" not in out, out
    assert json.loads(run("dvc metrics diff --json", clone, cenv)) == {}
    theirs, ours = weights(clone), weights(proj)
    assert all(torch.equal(theirs[k], ours[k]) for k in ours)
    # the pulled model and data give the committed metrics again when scored afresh
    rescore = run("dvc repro --force --single-item evaluate", clone, cenv)
    assert "Running stage 'evaluate'" in rescore, rescore
    diff = json.loads(run("dvc metrics diff --json", clone, cenv))["metrics/metrics.json"]
    assert diff and all(k.endswith("seconds") for k in diff), diff  # only the timings move
    assert "2 file(s) upscaled x4" in run("srcore-upscale data/raw/valid -o up", clone, cenv)

    # an experiment travels: git refs to the git remote, its outputs to the DVC remote
    run("dvc exp run -n k1 -S kappa=1.0", proj, env)
    mine = json.loads((proj / "metrics" / "metrics.json").read_text())
    run("dvc exp push origin k1", proj, env)
    run("dvc exp pull origin k1", clone, cenv)
    rows = json.loads(run("dvc exp show --json", clone, cenv))
    exps = {x["name"]: x for r in rows for ex in r.get("experiments") or [] for x in ex["revs"]}
    assert set(exps) == {"k1"}, set(exps)
    pulled = exps["k1"]["data"]["metrics"]["metrics/metrics.json"]["data"]
    assert pulled["psnr_y"] == mine["psnr_y"]
    run("dvc exp apply k1", clone, cenv)
    assert UP_TO_DATE in run("dvc status", clone, cenv)  # its outputs came from the remote
    assert load_kappa(clone) == 1.0


def load_kappa(repo) -> float:
    from srcore.net.checkpoint import load_model

    return load_model(repo / "models" / "model.pt")[1].kappa
