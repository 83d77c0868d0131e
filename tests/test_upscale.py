import numpy as np
import pytest
import torch
from PIL import Image

from srcore.checkpoint import save_checkpoint
from srcore.degrade import bicubic_resize
from srcore.diffusion import DiffusionConfig, ResShift
from srcore.model import DualDomainUNet, ModelConfig
from srcore.tiles import super_resolve_image, tile_starts
from srcore.upscale import main


def tiny_model(seed=0, **cfg):
    torch.manual_seed(seed)
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, **cfg)).eval()
    torch.nn.init.normal_(m.out.weight, std=0.05)  # a non-trivial residual, as after training
    return m


def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 128 + 70 * np.sin(x / 13.0) * np.cos(y / 17.0)
    return np.clip(img[..., None] + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


TILED_CASES = [  # (model settings, tile, sampling options)
    ({"stem": 1, "dct_block": 8}, 128, {}),
    ({"stem": 4, "dct_block": 4}, 256, {}),
    ({"stem": 2}, 128, {"sampler": "ddim", "samples": 2}),
    ({"stem": 4, "dct_block": 4}, 256, {"ensemble": True}),
]


@pytest.mark.parametrize("cfg,tile,opts", TILED_CASES, ids=["seed-layout", "stem4", "stem2-ddim-x2", "stem4-ensemble"])
def test_tiled_equals_untiled_without_seams(cfg, tile, opts):
    model, diffusion = tiny_model(**cfg), ResShift.from_config(DiffusionConfig()).respace(4)
    m = model.cfg.size_multiple
    y0 = smooth_image(500, 700)
    whole = super_resolve_image(model, diffusion, y0, seed=5, **opts).astype(np.float64)
    tiled = super_resolve_image(model, diffusion, y0, seed=5, tile=tile, overlap=32, **opts).astype(np.float64)
    assert np.abs(whole - tiled).mean() < 1.0  # < 1/255 mean absolute error
    starts = tile_starts(700, tile, 32, m)
    assert len(starts) > 2
    for s in starts[1:] + [s + tile - 1 for s in starts[:-1]]:  # the jump across every tile border is the untiled one
        step_tiled = np.abs(tiled[:, s] - tiled[:, s - 1]).mean()
        step_whole = np.abs(whole[:, s] - whole[:, s - 1]).mean()
        assert abs(step_tiled - step_whole) < 0.5, s
    other = super_resolve_image(model, diffusion, y0, seed=6, tile=tile, overlap=32, **opts)
    assert np.abs(other.astype(float) - tiled).mean() > 0.05  # the seed matters


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, tiny_model(), DiffusionConfig(), scale=4)
    return path


def test_upscale_keeps_modes_formats_and_reports_bad_files(tmp_path, model_file, capsys):
    src = tmp_path / "in"
    src.mkdir()
    rgb = smooth_image(24, 40)
    Image.fromarray(rgb).convert("L").save(src / "grey.png")
    rgba = Image.fromarray(rgb).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (24, 1))
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(src / "alpha.png")
    Image.fromarray(rgb).convert("P").save(src / "palette.png")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(src / "deep16.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(src / "rotated.jpg", exif=exif, quality=95)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out"
    code = main(
        [str(src), str(tmp_path / "missing.png"), "-o", str(out), "--model", str(model_file), "--steps", "2", "--tile", "64"]
    )
    cap = capsys.readouterr()
    assert code == 1  # two inputs failed, the others were written
    assert "broken.png" in cap.err and "missing.png" in cap.err
    assert "5 image(s) upscaled x4" in cap.out
    grey, a, pal, deep, rot = (Image.open(out / n) for n in ("grey.png", "alpha.png", "palette.png", "deep16.png", "rotated.jpg"))
    assert grey.mode == "L" and grey.size == (160, 96)
    assert a.mode == "RGBA" and np.array_equal(np.asarray(a)[..., 3], bicubic_resize(alpha, (160, 96)))
    assert pal.mode == "RGB" and deep.mode == "L" and deep.size == (160, 96)
    assert rot.format == "JPEG" and rot.size == (96, 160)  # EXIF rotation applied, then x4
    assert not list(out.glob(".*"))  # no temporary files left


def test_the_averaged_image_path_is_the_tensor_average():
    from srcore.sampler import VIEWS, super_resolve_mean, unview, view
    from srcore.tensors import to_tensor, to_uint8

    model, diffusion = tiny_model(stem=2), ResShift.from_config(DiffusionConfig()).respace(2)
    y0 = smooth_image(70, 90)
    for k, flip in VIEWS:  # the numpy branch of the views (the image path) inverts exactly
        assert np.array_equal(unview(view(y0, k, flip), k, flip), y0)
    opts = {"sampler": "ddim", "samples": 2, "ensemble": True}
    image = super_resolve_image(model, diffusion, y0, seed=4, **opts).astype(float)
    tensor = to_uint8(super_resolve_mean(model, diffusion, to_tensor(y0)[None], 4, **opts)[0]).astype(float)
    assert np.abs(image - tensor).max() <= 1  # the same views and draws: rounding apart, the same image
    plain = super_resolve_image(model, diffusion, y0, seed=4).astype(float)
    assert np.abs(image - plain).mean() > 0.05


def test_upscale_sampling_options(tmp_path, model_file, capsys):
    img = tmp_path / "a.png"
    Image.fromarray(smooth_image(24, 40)).save(img)
    outs = {}
    for name, flags in {"plain": [], "ddim": ["--sampler", "ddim"], "mean": ["--samples", "2", "--ensemble"]}.items():
        assert main([str(img), "-o", str(tmp_path / name), "--model", str(model_file), "--steps", "2", *flags]) == 0
        outs[name] = np.asarray(Image.open(tmp_path / name / "a.png"), dtype=float)
    assert outs["plain"].shape == (96, 160, 3)
    assert np.abs(outs["plain"] - outs["ddim"]).mean() > 0.05 and np.abs(outs["plain"] - outs["mean"]).mean() > 0.05
    assert main([str(img), "-o", str(tmp_path / "x"), "--model", str(model_file), "--samples", "0"]) == 2
    assert "--samples 0" in capsys.readouterr().err


def test_upscale_refuses_a_hostile_model_file(tmp_path, capsys):
    import pickle

    class Evil:
        def __reduce__(self):
            return (exec, ("open('PWNED', 'w').write('x')",))

    bad = tmp_path / "evil.pt"
    bad.write_bytes(pickle.dumps({"format": "srcore-model/1", "x": Evil()}))
    img = tmp_path / "a.png"
    Image.fromarray(smooth_image(16, 16)).save(img)
    assert main([str(img), "-o", str(tmp_path / "o"), "--model", str(bad)]) == 2
    assert "refused" in capsys.readouterr().err and not (tmp_path / "PWNED").exists()


@pytest.mark.slow
def test_a_4000x3000_output_runs_in_bounded_memory(tmp_path, model_file):
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (750, 1000, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    cmd = [sys.executable, "-m", "srcore.upscale", str(tmp_path / "big.png"), "-o", str(tmp_path / "out"),
           "--model", str(model_file), "--steps", "1", "--tile", "256"]  # fmt: skip
    # a fresh wrapper whose only child is the upscaler, so ru_maxrss is that process's peak
    probe = (
        f"import json, resource, subprocess; r = subprocess.run({cmd!r}); "
        "print(json.dumps([r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))"
    )
    code, peak_kib = json.loads(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    )
    assert code == 0 and Image.open(tmp_path / "out" / "big.png").size == (4000, 3000)
    # measured here: ~0.5 GB tiled (0.25 GB of it is importing torch); the same image untiled peaks at ~13 GB
    assert peak_kib < 1.2e6, f"peak RSS {peak_kib / 1e6:.2f} GB"


def test_upscale_without_any_readable_input_or_model_is_one_error_line(tmp_path, model_file, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.png").write_bytes(b"not a png")
    Image.fromarray(smooth_image(16, 16)).save(tmp_path / "ok.png")
    out = tmp_path / "out"
    cases = [
        ([str(tmp_path / "empty")], model_file, "no image files in"),
        ([str(tmp_path / "bad.png")], model_file, "bad.png"),
        ([str(tmp_path / "missing.png")], model_file, "missing.png"),
        ([str(tmp_path / "ok.png")], tmp_path / "nope.pt", "nope.pt: model file not found"),
    ]
    for inputs, model, word in cases:
        assert main([*inputs, "-o", str(out), "--model", str(model), "--steps", "1"]) == 2
        lines = [s for s in capsys.readouterr().err.splitlines() if s.startswith("error:") or "Traceback" in s]
        assert len(lines) == 1 and word in lines[0], lines
    assert not out.exists() or not list(out.iterdir())
