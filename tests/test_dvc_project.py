"""The DVC project itself: each stage's deps are what it really reads, params.yaml is the defaults,
and the committed dvc.lock (with its metrics and logs) is what the committed code and params
produce."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from srcore.config.params import default_params_yaml, schema
from srcore.config.schema import Params, weight_settings
from tests.conftest import REPO

DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())
STAGES = list(DVC_YAML["stages"])
TORCH_FREE = {"fetch", "prepare", "plots"}


def _loaded_by(stage: str) -> tuple[set[str], bool]:
    """srcore folders (and srcore/__init__.py) a stage's process loads from, repo-relative, and
    whether it imports torch."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('st', 'stages/{stage}.py')\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "mods = [m for n, m in list(sys.modules.items()) if n.split('.')[0] == 'srcore']\n"
        "print(' '.join(m.__file__ for m in mods))\n"
        "print('torch' in sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    files, torch = r.stdout.splitlines()
    paths = {Path(f).resolve().relative_to(REPO) for f in files.split()}
    return {str(p if p.parent.name == "srcore" else p.parent) for p in paths}, torch == "True"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_are_the_code_it_imports(stage):
    deps = DVC_YAML["stages"][stage]["deps"]
    declared = {d for d in deps if d.startswith("srcore")}
    loaded, torch = _loaded_by(stage)
    assert "srcore" not in deps, "the whole package: a change to any concern would re-run it"
    assert f"stages/{stage}.py" in deps
    assert declared == loaded, (
        f"dvc.yaml lacks {sorted(loaded - declared)}, lists unused {sorted(declared - loaded)}"
    )
    if stage in TORCH_FREE:
        assert not torch, f"stage {stage} imports torch, which it does not use"


# what each stage's script reads from params.yaml (load_params().<group>), by params.yaml key prefix
READS = {
    "fetch": ("data.",),
    "prepare": ("prepare.",),
    "train": ("kappa", "prepare.scale", "model.", "diffusion.", "loss.", "train.", "real."),
    "evaluate": ("kappa", "model.", "diffusion.", "real.", "evaluate."),
    "plots": ("plots.",),
}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_params_cover_every_key_the_stage_reads(stage):
    listed = DVC_YAML["stages"][stage].get("params", [])
    covered = {k for k in schema() if any(k == p or k.startswith(p + ".") for p in listed)}
    reads = {k for k in schema() if k.startswith(READS[stage])}
    assert reads <= covered, (
        f"dvc.yaml: stage {stage} does not list {sorted(reads - covered)}: "
        "changing them would not re-run it"
    )
    if stage == "train":  # prepare.* reach it through its data dependency (data/prepared)
        assert {k for k in weight_settings(Params()) if not k.startswith("prepare.")} <= covered


def test_params_yaml_is_the_defaults_defined_in_config():
    assert (REPO / "params.yaml").read_text() == default_params_yaml(), (
        "run: python -m srcore.config.params > params.yaml"
    )


def _md5(path: Path) -> str:
    """DVC's md5 of a file, or of a folder (md5 of its sorted JSON listing, suffixed .dir)."""
    if path.is_file():
        return hashlib.md5(path.read_bytes()).hexdigest()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    listing = [{"md5": _md5(f), "relpath": f.relative_to(path).as_posix()} for f in files]
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest() + ".dir"


def _lookup(params: dict, key: str):
    for part in key.split("."):
        params = params[part]
    return params


def _same(a, b) -> bool:
    """Equal values, groups and lists compared item by item; DVC writes 1e-07, which PyYAML reads as
    a string."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return a == b or float(a) == float(b)
    except (TypeError, ValueError):
        return False


def test_the_committed_lock_is_what_this_code_and_these_params_produce():
    """Fails when code, params or the committed metrics/logs differ from dvc.lock: re-run `dvc
    repro`
    and commit dvc.lock, metrics/ and dvclive/ with the change."""
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stale = []
    assert set(lock) == set(STAGES), "dvc.lock lacks stages: run dvc repro"
    for name, stage in lock.items():
        spec = DVC_YAML["stages"][name]
        if stage["cmd"] != spec["cmd"] or {d["path"] for d in stage.get("deps", [])} != set(
            spec["deps"]
        ):
            stale.append(f"{name}: command or deps changed in dvc.yaml")
        for dep in stage.get("deps", []):
            path = REPO / dep["path"]
            if (
                path.is_file()
                and dep["path"].startswith(("srcore/", "stages/"))
                and _md5(path) != dep["md5"]
            ):
                stale.append(f"{name}: {dep['path']} changed")
        for key, value in stage.get("params", {}).get("params.yaml", {}).items():
            if not _same(_lookup(params, key), value):
                stale.append(f"{name}: params.yaml {key} changed")
        for out in stage.get("outs", []):  # the committed (cache: false) metrics and logs
            path = REPO / out["path"]
            if out["path"].startswith(("metrics/", "dvclive/")) and _md5(path) != out["md5"]:
                stale.append(f"{name}: committed {out['path']} is not the one dvc.lock records")
    assert not stale, (
        "dvc.lock is stale (run `dvc repro`, commit dvc.lock, metrics/, dvclive/): "
        + "; ".join(stale)
    )
