"""fetch / prepare / evaluate as functions: bad files, small images, determinism."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from srcore.config.schema import DataConfig, ModelConfig, Params, TrainConfig
from tests.conftest import load_stage


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 7.0 + seed) * np.cos(y / 11.0)
    return np.clip(base[..., None] + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def messy_folders(tmp_path):
    train, valid = tmp_path / "src_train", tmp_path / "src_valid"
    train.mkdir(), valid.mkdir()
    Image.fromarray(_photo(120, 150, 1)).save(train / "good.png")
    Image.fromarray(_photo(100, 130, 2)).convert("L").save(train / "gray.png")
    Image.fromarray(_photo(100, 100, 3)).convert("RGBA").save(train / "rgba.png")
    Image.fromarray(_photo(40, 50, 4)).save(train / "small.png")  # smaller than the 64 patch
    Image.fromarray(_photo(90, 90, 5)).save(train / "trunc.png")
    (train / "trunc.png").write_bytes((train / "trunc.png").read_bytes()[:200])
    (train / "empty.png").write_bytes(b"")
    (train / "notes.txt").write_text("not an image")
    Image.fromarray(_photo(128, 160, 6)).save(valid / "val.png")
    return train, valid


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_fetch_and_prepare_on_a_messy_folder(messy_folders, tmp_path, capsys):
    train, valid = messy_folders
    before = _digest(train)
    fetch, prepare = load_stage("fetch"), load_stage("prepare")
    manifest = fetch.fetch(
        DataConfig(source="folder", train_dir=str(train), valid_dir=str(valid)), tmp_path / "raw"
    )
    log = capsys.readouterr().out
    for name in ("trunc.png", "empty.png", "notes.txt"):
        assert f"{name}" in log and manifest.set_index("name").loc[name, "status"].startswith(
            "skipped"
        )
    ok = manifest[manifest.status == "ok"]
    assert sorted(ok.name) == ["good.png", "gray.png", "rgba.png", "small.png", "val.png"]
    assert _digest(train) == before  # nothing at the source touched
    index, counts = prepare.prepare(
        tmp_path / "raw", tmp_path / "prep", 4, 64, {"train": 5, "valid": 3}, 0
    )
    log = capsys.readouterr().out
    assert "smaller than the 64px patch" in log and "small.png" in log
    assert counts["train"] == {"images": 3, "unreadable": 0, "smaller_than_patch": 1}
    assert set(index[index.split == "train"].image) == {"good.png", "gray.png", "rgba.png"}
    hr = np.load(tmp_path / "prep" / "cache" / "train" / "gray.png.hr.npy")
    assert hr.shape == (100, 128, 3) and hr.dtype == np.uint8  # mod-cropped, RGB
    assert ((index.top + 64 <= 120) | (index.image != "good.png")).all()


def test_the_patch_index_is_identical_across_runs(messy_folders, tmp_path):
    train, valid = messy_folders
    fetch, prepare = load_stage("fetch"), load_stage("prepare")
    fetch.fetch(
        DataConfig(source="folder", train_dir=str(train), valid_dir=str(valid)), tmp_path / "raw"
    )
    a, _ = prepare.prepare(tmp_path / "raw", tmp_path / "p1", 4, 64, {"train": 4, "valid": 3}, 0)
    b, _ = prepare.prepare(tmp_path / "raw", tmp_path / "p2", 4, 64, {"train": 4, "valid": 3}, 0)
    pd.testing.assert_frame_equal(a, b)


# sha256 of the prepared index and cache below, made by the code before the real degradation
# existed: the bicubic cache must stay these bytes
BICUBIC_CACHE = "677f71457078ae1d970121e00d3ff7e795a40c45c5556af2babff8d4452c843b"


def test_the_prepared_cache_is_the_previous_codes_bytes(tmp_path):
    train, valid = tmp_path / "t", tmp_path / "v"
    train.mkdir(), valid.mkdir()
    Image.fromarray(_photo(120, 150, 1)).save(train / "good.png")
    Image.fromarray(_photo(100, 130, 2)).convert("L").save(train / "gray.png")
    Image.fromarray(_photo(128, 160, 6)).save(valid / "val.png")
    fetch, prepare = load_stage("fetch"), load_stage("prepare")
    data = DataConfig(source="folder", train_dir=str(train), valid_dir=str(valid))
    fetch.fetch(data, tmp_path / "raw")
    index, _ = prepare.prepare(tmp_path / "raw", tmp_path / "p", 3, 64, {"train": 4, "valid": 3}, 0)
    digest = hashlib.sha256(index.to_csv(index=False).encode())
    for f in sorted((tmp_path / "p" / "cache").rglob("*.npy")):
        digest.update(f.relative_to(tmp_path / "p").as_posix().encode() + f.read_bytes())
    assert digest.hexdigest() == BICUBIC_CACHE


def test_the_train_stage_batches_follow_the_params(tmp_path):
    train, valid = tmp_path / "t", tmp_path / "v"
    train.mkdir(), valid.mkdir()
    Image.fromarray(_photo(120, 150, 1)).save(train / "good.png")
    Image.fromarray(_photo(128, 160, 6)).save(valid / "val.png")
    fetch, prepare, stage = load_stage("fetch"), load_stage("prepare"), load_stage("train")
    fetch.fetch(DataConfig(source="folder", train_dir=str(train), valid_dir=str(valid)), tmp_path)
    index, _ = prepare.prepare(tmp_path, tmp_path / "p", 4, 64, {"train": 4, "valid": 2}, 0)
    index.to_csv(tmp_path / "p" / "index.csv", index=False)  # as the stage's main writes it
    settings = {"integer_share": 0.5, "integer_bias": 2.0, "degradation": "real", "seed": 3}
    p = Params(model=ModelConfig(scales=(1.0, 4.0)), train=TrainConfig(**settings))
    train_data, valid_data = stage.batches(p, tmp_path / "p")
    odds = np.array([2, 3, 4]) ** -2.0
    assert train_data.scales == (1.0, 4.0) and train_data.integer_share == 0.5
    assert np.allclose(train_data.integer_odds, odds / odds.sum())
    assert train_data.real is not None and train_data.seed == 3
    assert valid_data.y0_of is not None  # validated on the real LR it is trained for
    plain, _ = stage.batches(Params(), tmp_path / "p")
    assert plain.real is None and plain.integer_odds is not None  # the defaults: bias 2
