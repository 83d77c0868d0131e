"""srcore.Upscaler: the Python API equals srcore-upscale's files, keeps every kind of image, serves
several threads, refuses bad input in one line; the README's snippet runs as written."""

import re
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

import srcore
from srcore.commands.upscale import main as upscale_main
from srcore.common.errors import UserError
from srcore.config.schema import DiffusionConfig
from srcore.deploy.pictures import picture_to_array, read_picture
from srcore.net.checkpoint import save_checkpoint
from tests.conftest import REPO
from tests.helpers.images import deep_rgb, smooth_image, tiny_model

OPTIONS = ["--scale", "2.5", "--cleanup", "0.5", "--seed", "3", "--steps", "2", "--tile", "64"]
SPEC = {"scale": 2.5, "cleanup": 0.5, "seed": 3, "steps": 2, "tile": 64}


@pytest.fixture(scope="module")
def knob_model(tmp_path_factory):
    """A multi-scale (x1..x4) clean-up model file."""
    path = tmp_path_factory.mktemp("model") / "model.pt"
    net = tiny_model(scales=(1.0, 4.0), cleanup=True)
    save_checkpoint(path, net, DiffusionConfig(steps=4), scale=4)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """One file of each kind srcore-upscale keeps: RGB, grey, RGBA, 16-bit colour, 16-bit grey."""
    folder = tmp_path_factory.mktemp("photos")
    rgb = smooth_image(40, 56)
    Image.fromarray(rgb).save(folder / "rgb.png")
    Image.fromarray(rgb).convert("L").save(folder / "grey.png")
    rgba = Image.fromarray(rgb).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 56).astype(np.uint8), (40, 1))))
    rgba.save(folder / "rgba.png")
    cv2.imwrite(str(folder / "deep.png"), deep_rgb(40, 56)[..., ::-1])
    cv2.imwrite(str(folder / "deep_grey.png"), deep_rgb(40, 56)[..., 0])
    return folder


def test_the_api_returns_the_pixels_the_cli_writes(knob_model, photos, tmp_path):
    out = tmp_path / "cli"
    assert upscale_main([str(photos), "-o", str(out), "--model", str(knob_model), *OPTIONS]) == 0
    up = srcore.Upscaler.load(knob_model, device="cpu")
    for src in sorted(photos.iterdir()):
        written = picture_to_array(read_picture(out / src.name))
        assert written.shape[:2] == (100, 140)  # 40 x 56 at x2.5
        by_path = up.upscale(src, **SPEC)
        assert by_path.dtype == written.dtype and np.array_equal(by_path, written), src.name
        as_array = picture_to_array(read_picture(src))
        assert np.array_equal(up.upscale(as_array, **SPEC), written), src.name
        if written.dtype == np.uint8:  # Pillow holds the 8-bit kinds
            pil = up.upscale(Image.open(src), **SPEC)
            assert pil.mode == Image.open(src).mode and np.array_equal(np.asarray(pil), written)


def test_options_change_the_result_and_defaults_come_from_load(knob_model):
    lr = smooth_image(24, 32)
    up = srcore.Upscaler.load(knob_model, device="cpu", steps=2, seed=3)
    base = up.upscale(lr, scale=2)
    assert base.shape == (48, 64, 3) and up.scale == 4  # the model's own scale by default
    assert np.array_equal(base, up.upscale(lr, scale=2))  # deterministic
    for other in ({"seed": 4}, {"cleanup": 0.6}, {"steps": 1}, {"scale": 2.5}):  # default 0
        assert not np.array_equal(up.upscale(lr, **{"scale": 2, **other}), base), other
    seeded = srcore.Upscaler.load(knob_model, device="cpu", steps=2, seed=4)
    assert np.array_equal(seeded.upscale(lr, scale=2), up.upscale(lr, scale=2, seed=4))


def test_a_list_comes_back_as_a_list_of_the_same_kinds(knob_model):
    up = srcore.Upscaler.load(knob_model, device="cpu", steps=1)
    grey = smooth_image(20, 28)[..., 0]
    deep = deep_rgb(20, 28, alpha=True)
    out = up.upscale([grey, deep, Image.fromarray(smooth_image(20, 28))], scale=2)
    assert isinstance(out, list) and len(out) == 3
    assert out[0].shape == (40, 56) and out[0].dtype == np.uint8
    assert out[1].shape == (40, 56, 4) and out[1].dtype == np.uint16
    assert isinstance(out[2], Image.Image) and out[2].size == (56, 40) and out[2].mode == "RGB"


@pytest.mark.parametrize(
    "image,options,message",
    [
        (42, {}, "an image of type int: allowed a path"),
        (np.zeros((8, 8, 3), np.float32), {}, "allowed uint8 or uint16"),
        (np.zeros((8, 8, 5), np.uint8), {}, "5 channels: allowed 1, 2, 3 or 4"),
        (np.zeros((8, 8, 3), np.uint8), {"scale": 9}, "scale 9: allowed a number in 1..8"),
        (np.zeros((8, 8, 3), np.uint8), {"scale": 4.5}, "takes 1 to 4"),
        (np.zeros((8, 8, 3), np.uint8), {"samples": 0}, "samples 0: allowed 1 or more"),
        (np.zeros((8, 8, 3), np.uint8), {"steps": 9}, "steps 9: allowed 1..4"),
        (np.zeros((8, 8, 3), np.uint8), {"tile": 50}, "tile 50, overlap 32: the tile must be"),
        (np.zeros((8, 8, 3), np.uint8), {"tiles": 64}, "tiles: not a sampling option"),
    ],
)
def test_bad_input_or_options_are_one_line(knob_model, image, options, message):
    up = srcore.Upscaler.load(knob_model, device="cpu")
    with pytest.raises(UserError, match=re.escape(message)) as e:
        up.upscale(image, **options)
    assert "\n" not in str(e.value)


def test_a_missing_model_file_or_an_option_it_lacks_is_one_line(tmp_path):
    with pytest.raises(UserError, match="model file not found"):
        srcore.Upscaler.load(tmp_path / "none.pt")
    with pytest.raises(UserError, match=r"cleanup 0.5: \S+ has no clean-up knob"):
        save_checkpoint(tmp_path / "plain.pt", tiny_model(), DiffusionConfig(), scale=4)
        srcore.Upscaler.load(tmp_path / "plain.pt", cleanup=0.5)


def test_one_upscaler_serves_several_threads(knob_model):
    up = srcore.Upscaler.load(knob_model, device="cpu", steps=2)
    images = [smooth_image(32, 40, seed=k) for k in range(6)]
    alone = [up.upscale(im, scale=2.5, seed=k) for k, im in enumerate(images)]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda k: up.upscale(images[k], scale=2.5, seed=k), range(6)))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


def readme_snippet() -> str:
    """The README's first Python block."""
    text = (REPO / "README.md").read_text()
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found, "README.md has no ```python block"
    return found.group(1)


def test_the_readme_snippet_runs_as_written(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    save_checkpoint(
        tmp_path / "models" / "model.pt", tiny_model(scales=(1.0, 4.0)), DiffusionConfig(), 4
    )
    Image.fromarray(smooth_image(24, 32)).save(tmp_path / "photo.jpg", quality=95)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_snippet(), "README.md", "exec"), namespace)
    results = [v for v in namespace.values() if isinstance(v, np.ndarray | Image.Image)]
    assert results, "the snippet made no image"
    assert all(np.asarray(r).shape[:2] == (60, 80) for r in results)  # 24 x 32 at x2.5
