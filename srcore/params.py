"""params.yaml: read, validate every key before any heavy work, and build the typed configs.

A wrong value stops with one message naming the key, its value and what is allowed; an unknown
key (a typo) stops too, so a setting is never silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from .diffusion import DiffusionConfig
from .losses import LossConfig
from .model import ModelConfig
from .train import TrainConfig


class ParamError(ValueError):
    pass


def _num(lo=None, hi=None, lo_open=False):
    def ok(v):
        return (lo is None or (v > lo if lo_open else v >= lo)) and (hi is None or v <= hi)

    return ok


_INT, _NUM, _STR, _BOOL = (int,), (int, float), (str,), (bool,)
# key: (types, check, what is allowed)
RULES: dict[str, tuple[tuple, Callable[[Any], bool] | None, str]] = {
    "kappa": (_NUM, _num(0, lo_open=True), "a number > 0"),
    "data.source": (_STR, lambda v: v in ("sample", "div2k", "folder"), "one of: sample, div2k, folder"),
    "data.train_dir": (_STR, None, "a folder of HR images (used when data.source is folder)"),
    "data.valid_dir": (_STR, None, "a folder of HR images (used when data.source is folder)"),
    "data.div2k_dir": (_STR, None, "'' (download) or a folder holding DIV2K_{train,valid}_HR(.zip)"),
    "data.div2k_url": (_STR, lambda v: v.startswith(("http://", "https://")), "an http(s) URL"),
    "prepare.scale": (_INT, lambda v: v in (2, 3, 4), "2, 3 or 4"),
    "prepare.patch": (_INT, _num(16), "an HR patch side >= 16, a multiple of the network's size multiple"),
    "prepare.train_patches_per_image": (_INT, _num(1), "an integer >= 1"),
    "prepare.valid_patches_per_image": (_INT, _num(0), "an integer >= 0"),
    "prepare.seed": (_INT, None, "an integer"),
    **{f"model.{f.name}": ((bool,) if f.type == "bool" else _INT, None, f"{f.type}") for f in fields(ModelConfig)},
    "diffusion.steps": (_INT, _num(1, 1000), "an integer in 1..1000 (T)"),
    "diffusion.eta_1": (_NUM, _num(0, 1, lo_open=True), "a number in (0, 1]"),
    "diffusion.eta_T": (_NUM, _num(0, 1, lo_open=True), "a number in (0, 1], above eta_1"),
    "diffusion.power": (_NUM, _num(0, lo_open=True), "a number > 0"),
    "loss.freq_weight": (_NUM, _num(0), "a number >= 0"),
    "loss.scales": ((list,), lambda v: len(v) > 0 and all(isinstance(s, int) and s >= 1 for s in v), "a list of integers >= 1"),
    "loss.laplacian_weight": (_NUM, _num(0), "a number >= 0"),
    "loss.laplacian_levels": (_INT, _num(1, 8), "an integer in 1..8"),
    "loss.perceptual_weight": (_NUM, _num(0), "a number >= 0"),
    "loss.vgg_weights": (_STR, None, "a path to local VGG-19 weights ('' when unused)"),
    "train.steps": (_INT, _num(1), "an integer >= 1"),
    "train.batch_size": (_INT, _num(1), "an integer >= 1"),
    "train.lr": (_NUM, _num(0, lo_open=True), "a number > 0"),
    "train.lr_min": (_NUM, _num(0), "a number >= 0"),
    "train.grad_clip": (_NUM, _num(0, lo_open=True), "a number > 0"),
    "train.seed": (_INT, None, "an integer"),
    "train.checkpoint_every": (_INT, _num(1), "an integer >= 1"),
    "train.eval_every": (_INT, _num(1), "an integer >= 1"),
    "train.eval_sample_steps": (_INT, _num(1), "an integer >= 1"),
    "train.log_every": (_INT, _num(1), "an integer >= 1"),
    "train.max_nonfinite": (_INT, _num(1), "an integer >= 1"),
    "train.device": (_STR, lambda v: v in ("auto", "cpu", "cuda"), "auto, cpu or cuda"),
    "train.compile": (_BOOL, None, "true or false"),
    "evaluate.steps": (_INT, _num(1), "an integer in 1..diffusion.steps"),
    "evaluate.seed": (_INT, None, "an integer"),
    "evaluate.tile": (_INT, _num(0), "0 (whole images) or a tile side in pixels"),
    "evaluate.overlap": (_INT, _num(0), "an integer >= 0, below evaluate.tile"),
    "evaluate.device": (_STR, lambda v: v in ("auto", "cpu", "cuda"), "auto, cpu or cuda"),
    "plots.examples": (_INT, _num(1), "an integer >= 1"),
    "plots.zoom": (_INT, _num(8), "a crop side in pixels >= 8"),
}
RULES["model.width"] = (_INT, _num(1), "an integer >= 1")
RULES["model.depth"] = (_INT, _num(0, 6), "an integer in 0..6")
RULES["model.dct_block"] = (_INT, lambda v: v == 0 or v in (2, 4, 8, 16), "0 (global DCT) or 2, 4, 8, 16")
RULES["model.pos_freqs"] = (_INT, _num(0, 16), "an integer in 0..16 (0 = off)")
RULES["model.amp_kernel"] = (_INT, lambda v: v == 0 or (v >= 3 and v % 2 == 1), "0 (off) or an odd integer >= 3")


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, key + ".")
        else:
            out[key] = v
    return out


def _fail(key: str, value: Any, allowed: str, where: str) -> None:
    raise ParamError(f"{where}: {key} = {value!r} is not allowed: must be {allowed}")


def validate(params: dict, where: str = "params.yaml") -> dict:
    """Check every key of params; return it unchanged. Raises ParamError naming the key."""
    if not isinstance(params, dict):
        raise ParamError(f"{where}: expected a mapping of parameter groups")
    flat = _flatten(params)
    for key, value in flat.items():
        if key not in RULES:
            raise ParamError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(RULES))}")
        types, check, allowed = RULES[key]
        if types != _BOOL and isinstance(value, bool) or not isinstance(value, types) or (check and not check(value)):
            _fail(key, value, allowed, where)
    for key in RULES:
        if key not in flat:
            raise ParamError(f"{where}: missing key {key!r} ({RULES[key][2]})")
    if flat["diffusion.eta_T"] <= flat["diffusion.eta_1"]:
        _fail("diffusion.eta_T", flat["diffusion.eta_T"], f"above diffusion.eta_1 = {flat['diffusion.eta_1']}", where)
    if flat["evaluate.steps"] > flat["diffusion.steps"]:
        _fail("evaluate.steps", flat["evaluate.steps"], f"at most diffusion.steps = {flat['diffusion.steps']}", where)
    m = model_config(params).size_multiple
    if flat["prepare.patch"] % m:
        _fail("prepare.patch", flat["prepare.patch"], f"a multiple of {m} (the model's depth, DWT and DCT block)", where)
    if flat["evaluate.tile"] and (flat["evaluate.tile"] % m or flat["evaluate.overlap"] >= flat["evaluate.tile"]):
        _fail("evaluate.tile", flat["evaluate.tile"], f"0 or a multiple of {m} larger than evaluate.overlap", where)
    if flat["data.source"] == "folder" and not (flat["data.train_dir"] and flat["data.valid_dir"]):
        _fail("data.train_dir", flat["data.train_dir"], "set, with data.valid_dir, when data.source is folder", where)
    return params


def load_params(path: str | os.PathLike = "params.yaml") -> dict:
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ParamError(f"{path}: cannot read parameters ({e})") from e
    return validate(params, str(path))


def model_config(p: dict) -> ModelConfig:
    return ModelConfig(**p["model"])


def diffusion_config(p: dict) -> DiffusionConfig:
    return DiffusionConfig(kappa=float(p["kappa"]), **{k: v for k, v in p["diffusion"].items()})


def loss_config(p: dict) -> LossConfig:
    return LossConfig(**{**p["loss"], "scales": tuple(p["loss"]["scales"])})


def train_config(p: dict) -> TrainConfig:
    return TrainConfig(**p["train"])
