"""params.yaml: every bad value is one message naming the key, the value and what is allowed."""

import re
import subprocess
import sys

import pytest
import yaml

from srcore.config.params import ParamError, parse
from srcore.config.schema import Params
from tests.conftest import REPO


def default_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize(
    "key,value,words",
    [
        ("kappa", -1.0, "kappa = -1.0 is not allowed: must be a number > 0"),
        ("train.steps", 0, "train.steps = 0 is not allowed: must be auto or an integer >= 1"),
        ("diffusion.steps", 0, "diffusion.steps = 0"),
        ("prepare.scale", 5, "prepare.scale = 5 is not allowed: must be one of: 2, 3, 4"),
        ("prepare.patch", 50, "prepare.patch = 50 is not allowed: must be a multiple of 64"),
        (
            "data.source",
            "imagenet",
            "data.source = 'imagenet' is not allowed: must be one of: sample, folder, div2k",
        ),
        (
            "evaluate.steps",
            20,
            "evaluate.steps = 20 is not allowed: must be at most diffusion.steps = 15",
        ),
        ("model.amp_kernel", 4, "model.amp_kernel = 4"),
        ("train.lr", "fast", "train.lr = 'fast'"),
        ("train.compile", 1, "train.compile = 1"),
        ("train.seed", -1, "train.seed = -1 is not allowed: must be an integer in 0..2147483647"),
        (
            "prepare.seed",
            -3,
            "prepare.seed = -3 is not allowed: must be an integer in 0..2147483647",
        ),
        ("evaluate.seed", -1, "evaluate.seed = -1 is not allowed"),
        ("evaluate.tile", 100, "evaluate.tile = 100 is not allowed: must be 0 or a multiple of 64"),
        ("train.degradation", "jpeg", "train.degradation = 'jpeg' is not allowed: must be one of"),
        (
            "real.jpeg_range",
            [95, 30],
            "real.jpeg_range = [95, 30] is not allowed: must be two numbers, 1 <= low <= high",
        ),
        ("real.noise_range", [1, "x"], "real.noise_range = [1, 'x'] is not allowed"),
        (
            "real.resize_chances",
            [0.5, 0.5, 0.5],
            "real.resize_chances = [0.5, 0.5, 0.5] is not allowed: must be 3 probabilities",
        ),
        ("real.sinc_prob", 1.5, "real.sinc_prob = 1.5 is not allowed: must be a number in [0, 1]"),
        (
            "model.scales",
            [4],
            "model.scales = [4] is not allowed: must be auto or [] or two numbers",
        ),
        ("model.scales", [2, 2], "model.scales = [2, 2] is not allowed: must be auto or [] or two"),
        ("model.scales", [0.5, 4], "model.scales = [0.5, 4] is not allowed"),
        (
            "model.scale_input",
            "affine",
            "model.scale_input = 'affine' is not allowed: must be one of",
        ),
        (
            "evaluate.scales",
            [2, 2],
            "evaluate.scales = [2, 2] is not allowed: must be auto or a list of",
        ),
        ("evaluate.scales", [9], "evaluate.scales = [9] is not allowed"),
        (
            "evaluate.cleanup",
            1.5,
            "evaluate.cleanup = 1.5 is not allowed: must be auto or a number in [0",
        ),
        ("evaluate.degradations", ["real", "real"], "evaluate.degradations = ['real', 'real']"),
        ("evaluate.degradations", ["real"], "evaluate.degradations = ['real'] is not allowed"),
        (
            "real.resize_range",
            [1.2, 1.5],
            "real.resize_range = [1.2, 1.5] is not allowed: must be two numbers, 0.05 <= low <= 1",
        ),
    ],
)
def test_bad_parameters_name_key_value_and_what_is_allowed(key, value, words):
    p = default_params()
    group, _, name = key.rpartition(".")
    (p[group] if group else p)[name] = value
    with pytest.raises(ParamError, match=re.escape(words)):
        parse(p)


def test_real_training_takes_patches_that_the_scale_does_not_divide():
    p = default_params()
    p["prepare"].update(scale=3, patch=128)
    p["train"]["degradation"] = "real"  # each patch's LR has floor(128 / 3) pixels
    parse(p)


def test_scales_hold_the_prepared_scale_and_the_evaluated_ones():
    p = default_params()
    p["model"]["scales"] = [1, 3.5]
    with pytest.raises(
        ParamError,
        match=re.escape("model.scales = [1.0, 3.5] is not allowed: must be [] or a range holding"),
    ):
        parse(p)
    p["model"]["scales"] = [1, 4]
    p["evaluate"]["scales"] = [2.5, 1.5, 4]
    assert parse(p).evaluate.scales == (2.5, 1.5, 4)
    p["evaluate"]["scales"] = [2.5, 4.5]
    with pytest.raises(ParamError, match="evaluate.scales = .* must be 1 to 4$"):
        parse(p)
    p["model"]["scales"] = []
    p["evaluate"]["scales"] = [2]
    with pytest.raises(ParamError, match="must be 4 only \\(a model trained with model.scales"):
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
    r = subprocess.run(
        [sys.executable, str(REPO / "stages" / "train.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: params.yaml: kappa = -2 is not allowed: must be a number > 0"


def test_the_clean_up_knob_is_on_by_default_exactly_when_training_on_degraded_lr():
    p = default_params()
    assert p["model"]["cleanup"] == "auto" and not parse(p).model.cleanup
    for degradation in ("real", "realesrgan"):
        p["train"]["degradation"] = degradation
        assert parse(p).model.cleanup is True
    p["model"]["cleanup"] = False  # the plain real model
    assert parse(p).model.cleanup is False
    p["model"]["cleanup"], p["train"]["degradation"] = True, "bicubic"
    with pytest.raises(ParamError, match="model.cleanup = True .* auto or false when"):
        parse(p)


def _recipe(p: Params) -> tuple:
    return (
        p.prepare.patch,
        p.model.scales,
        p.model.cleanup,
        p.train.steps,
        p.train.final_share,
        p.evaluate.scales,
    )


def test_auto_keys_are_the_clean_model_on_bicubic_lr_and_the_photo_recipe_on_degraded_lr():
    p = default_params()
    assert _recipe(parse(p)) == (192, (1.0, 4.0), False, 1500, 0.0, (2.0, 3.0))
    assert _recipe(Params()) == _recipe(parse(p))  # configs made in code: the clean model's
    for degradation in ("real", "realesrgan"):
        p["train"]["degradation"] = degradation
        assert _recipe(parse(p)) == (128, (), True, 3000, 1.0, ())
    p["train"]["steps"], p["model"]["scales"] = 6000, [1, 4]  # a key set explicitly wins
    p["evaluate"]["scales"] = [2]
    assert _recipe(parse(p)) == (128, (1.0, 4.0), True, 6000, 1.0, (2.0,))
