"""The scale a user asks for is the scale the network is told, through every way in:
srcore-evaluate, srcore-upscale, the evaluate stage and the Python API. A multi-scale model
prepared at x4 is asked for x2.5; a caller that passed the model's own scale instead would tell the
network 4."""

import numpy as np
import pytest
from PIL import Image

import srcore
from srcore.commands.evaluate import main as evaluate_main
from srcore.commands.upscale import main as upscale_main
from srcore.config.schema import DataConfig, DiffusionConfig, EvaluateConfig, ModelConfig, Params
from srcore.eval.stage import evaluate_model
from srcore.net.checkpoint import save_checkpoint
from srcore.net.unet import DualDomainUNet
from tests.conftest import load_stage
from tests.helpers.images import smooth_image, tiny_model

CONFIG = {"scales": (1.0, 4.0)}


@pytest.fixture
def told(monkeypatch) -> list[float]:
    """Every scale the network's condition() is given, as numbers."""
    scales: list[float] = []
    condition = DualDomainUNet.condition

    def spy(self, y0, origin=None, scale=None, level=None):
        values = scale.flatten().tolist() if hasattr(scale, "flatten") else [scale]
        scales.extend(float(v) for v in values)
        return condition(self, y0, origin, scale, level)

    monkeypatch.setattr(DualDomainUNet, "condition", spy)
    return scales


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, tiny_model(**CONFIG), DiffusionConfig(), scale=4)
    return path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(2):
        Image.fromarray(smooth_image(48, 64, seed=k)).save(folder / f"p{k}.png")
    return folder


def test_srcore_evaluate_tells_the_network_the_scale_asked_for(told, model_file, photos, tmp_path):
    args = ["--model", str(model_file), "--hr-dir", str(photos), "--out", str(tmp_path / "e.json")]
    assert evaluate_main([*args, "--scale", "2.5", "--steps", "1"]) == 0
    assert told and set(told) == {2.5}


def test_srcore_upscale_tells_the_network_the_scale_asked_for(told, model_file, photos, tmp_path):
    args = [str(photos), "-o", str(tmp_path / "up"), "--model", str(model_file), "--steps", "1"]
    assert upscale_main([*args, "--scale", "2.5"]) == 0
    assert told and set(told) == {2.5}


def test_the_api_tells_the_network_the_scale_asked_for(told, model_file):
    up = srcore.Upscaler.load(model_file, device="cpu", steps=1)
    assert up.upscale(smooth_image(24, 32), scale=2.5).shape == (60, 80, 3)
    assert told and set(told) == {2.5}
    told.clear()
    by_default = srcore.Upscaler.load(model_file, device="cpu", steps=1, scale=3.5)
    assert by_default.upscale(smooth_image(24, 32)).shape == (84, 112, 3)
    assert told and set(told) == {3.5}


@pytest.fixture
def prepared(tmp_path):
    """(the prepared cache, the fetched validation images) of two training and two validation
    photos, at x4 on 64-pixel patches."""
    train, valid = tmp_path / "train", tmp_path / "valid"
    train.mkdir(), valid.mkdir()
    for k in range(2):
        Image.fromarray(smooth_image(96, 128, seed=k)).save(train / f"t{k}.png")
        Image.fromarray(smooth_image(96, 128, seed=5 + k)).save(valid / f"v{k}.png")
    data = DataConfig(source="folder", train_dir=str(train), valid_dir=str(valid))
    load_stage("fetch").fetch(data, tmp_path / "raw")
    prep = tmp_path / "prep"
    per_image = {"train": 1, "valid": 2}
    index, _ = load_stage("prepare").prepare(tmp_path / "raw", prep, 4, 64, per_image, 0)
    (prep / "index.csv").write_text(index.to_csv(index=False))
    return prep, tmp_path / "raw" / "valid"


def stage_params(**evaluate) -> Params:
    settings = {"steps": 1, "degradations": ("bicubic",), "device": "cpu", **evaluate}
    model = ModelConfig(width=8, time_dim=16, **CONFIG)
    return Params(model=model, evaluate=EvaluateConfig(**settings))


def test_the_evaluate_stage_tells_the_network_each_scale_it_scores(told, model_file, prepared):
    result = evaluate_model(stage_params(scales=(2.5,)), *prepared, model_file)
    assert result.summary["scale"] == 4 and "x2.5" in result.summary
    assert set(told) == {4.0, 2.5}  # the prepared scale, then evaluate.scales
    sr = next(iter(result.results["x2.5"].srs.values()))
    assert np.asarray(sr).shape[:2] == (95, 128)  # its 38 x 51 LR at x2.5


def test_the_evaluate_stage_runs_the_ensemble_and_draws_one_chain(model_file, prepared):
    plain = evaluate_model(stage_params(scales=()), *prepared, model_file)
    ensemble = evaluate_model(stage_params(scales=(), ensemble=True), *prepared, model_file)
    assert ensemble.summary["psnr_y"] != plain.summary["psnr_y"]  # the 8 views were averaged
    assert ensemble.chain.shape == plain.chain.shape and len(plain.chain) == 2  # x_1, x_0
    assert np.array_equal(ensemble.chain, plain.chain)  # one view's chain either way
