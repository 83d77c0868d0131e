import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from srcore.commands.upscale import main
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.data.degrade import bicubic_resize, upsample
from srcore.deploy.pictures import read_picture
from srcore.diffusion.loader import CLEANUP, TrainedModel
from srcore.net.checkpoint import save_checkpoint
from srcore.net.unet import DualDomainUNet
from tests.helpers.images import deep_rgb, png_header_only
from tests.helpers.images import tiny_model as film_model


def tiny_model(seed=0, **cfg):
    torch.manual_seed(seed)
    m = DualDomainUNet(ModelConfig(width=8, time_dim=16, **{"scales": (), **cfg})).eval()
    torch.nn.init.normal_(m.out.weight, std=0.05)  # a non-trivial residual, as after training
    return m


def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 128 + 70 * np.sin(x / 13.0) * np.cos(y / 17.0)
    return np.clip(img[..., None] + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


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
    png_header_only(src / "bomb.png", 60000, 60000)  # sorted before the good files: they go on
    (src / "notes.txt").write_text("not an image")
    (src / "raw.cr2").write_bytes(b"a suffix the upscaler does not take")
    cv2.imwrite(str(src / "photo16.tif"), deep_rgb(24, 40)[..., ::-1])
    out = tmp_path / "out"
    args = [str(src), str(tmp_path / "missing.png"), "-o", str(out), "--model", str(model_file)]
    code = main([*args, "--steps", "2", "--tile", "64"])
    cap = capsys.readouterr()
    assert code == 1  # three inputs failed, the others were written
    errors = [line for line in cap.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and "Traceback" not in cap.err
    assert all(any(n in e for e in errors) for n in ("broken.png", "missing.png", "bomb.png"))
    assert "skipped 2 file(s) that are neither images nor clips" in cap.out
    assert "6 file(s) upscaled x4" in cap.out
    deep_rgb_out = Image.open(out / "photo16.png")  # a 16-bit TIFF comes back as a 16-bit PNG
    assert deep_rgb_out.format == "PNG" and deep_rgb_out.size == (160, 96)
    assert read_picture(out / "photo16.png").deep
    grey, a, pal, deep, rot = (
        Image.open(out / n)
        for n in ("grey.png", "alpha.png", "palette.png", "deep16.png", "rotated.jpg")
    )
    assert grey.mode == "L" and grey.size == (160, 96)
    assert a.mode == "RGBA" and np.array_equal(
        np.asarray(a)[..., 3], bicubic_resize(alpha, (160, 96))
    )
    assert pal.mode == "RGB" and deep.mode.startswith("I;16") and deep.size == (160, 96)
    assert rot.format == "JPEG" and rot.size == (96, 160)  # EXIF rotation applied, then x4
    assert not list(out.glob(".*"))  # no temporary files left


def test_upscale_sampling_options(tmp_path, model_file, capsys):
    img = tmp_path / "a.png"
    Image.fromarray(smooth_image(24, 40)).save(img)
    outs = {}
    for name, flags in {
        "plain": [],
        "ddim": ["--sampler", "ddim"],
        "mean": ["--samples", "2", "--ensemble"],
    }.items():
        assert (
            main(
                [
                    str(img),
                    "-o",
                    str(tmp_path / name),
                    "--model",
                    str(model_file),
                    "--steps",
                    "2",
                    *flags,
                ]
            )
            == 0
        )
        outs[name] = np.asarray(Image.open(tmp_path / name / "a.png"), dtype=float)
    assert outs["plain"].shape == (96, 160, 3)
    assert (
        np.abs(outs["plain"] - outs["ddim"]).mean() > 0.05
        and np.abs(outs["plain"] - outs["mean"]).mean() > 0.05
    )
    assert (
        main([str(img), "-o", str(tmp_path / "x"), "--model", str(model_file), "--samples", "0"])
        == 2
    )
    assert "error: samples 0: allowed 1 or more" in capsys.readouterr().err


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


def peak_rss_of_upscale(tmp_path, model_file, height: int, width: int) -> tuple[int, float]:
    """(exit code, peak RSS in bytes) of `python -m srcore.commands.upscale` on a random height x
    width image at the default settings (tiles of 1024, 1 step)."""
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    src = tmp_path / f"big{height}.png"
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(src)
    cmd = [sys.executable, "-m", "srcore.commands.upscale", str(src), "-o", str(tmp_path / "out")]
    cmd += ["--model", str(model_file)]
    # a fresh wrapper whose only child is the upscaler, so ru_maxrss is that process's peak
    probe = (
        f"import json, resource, subprocess; r = subprocess.run({cmd!r}); "
        "print(json.dumps([r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    code, peak_kib = json.loads(r.stdout.strip().splitlines()[-1])
    return code, peak_kib * 1024.0


@pytest.mark.slow
def test_memory_of_the_default_model_grows_by_a_few_bytes_per_output_pixel(tmp_path):
    model = DualDomainUNet(ModelConfig())  # the default network, width 32, stem 4
    torch.nn.init.normal_(model.out.weight, std=0.01)
    model_file = tmp_path / "default.pt"
    save_checkpoint(model_file, model, DiffusionConfig(), scale=4)
    code_small, small = peak_rss_of_upscale(tmp_path, model_file, 375, 500)  # 3 MP out
    code_big, big = peak_rss_of_upscale(tmp_path, model_file, 750, 1000)  # 12 MP out
    assert code_small == code_big == 0
    assert Image.open(tmp_path / "out" / "big750.png").size == (4000, 3000)
    per_pixel = (big - small) / (12e6 - 3e6)
    # measured on the 2-core CPU machine, 2026-11-29: see docs/troubleshooting.md
    assert big < 1.5e9 and per_pixel < 40, f"peak {big / 1e9:.2f} GB, {per_pixel:.1f} B per pixel"


def test_upscale_without_any_readable_input_or_model_is_one_error_line(
    tmp_path, model_file, capsys
):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.png").write_bytes(b"not a png")
    Image.fromarray(smooth_image(16, 16)).save(tmp_path / "ok.png")
    out = tmp_path / "out"
    cases = [
        ([str(tmp_path / "empty")], model_file, "no image files or clips in"),
        ([str(tmp_path / "bad.png")], model_file, "bad.png"),
        ([str(tmp_path / "missing.png")], model_file, "missing.png"),
        ([str(tmp_path / "ok.png")], tmp_path / "nope.pt", "nope.pt: model file not found"),
    ]
    for inputs, model, word in cases:
        assert main([*inputs, "-o", str(out), "--model", str(model), "--steps", "1"]) == 2
        lines = [
            s
            for s in capsys.readouterr().err.splitlines()
            if s.startswith("error:") or "Traceback" in s
        ]
        assert len(lines) == 1 and word in lines[0], lines
    assert not out.exists() or not list(out.iterdir())


def test_a_multi_scale_model_upscales_by_any_scale_in_its_range(tmp_path, capsys):
    path = tmp_path / "any.pt"
    save_checkpoint(path, tiny_model(scales=(1.0, 4.0)), DiffusionConfig(), scale=4)
    img = tmp_path / "a.png"
    Image.fromarray(smooth_image(25, 41)).save(img)
    sizes = {}
    for scale in ("1", "2.5", "3.7", "4"):
        out = tmp_path / scale
        assert main([str(img), "-o", str(out), "--model", str(path), "--scale", scale]) == 0
        sizes[scale] = np.asarray(Image.open(out / "a.png")).shape[:2]
    # round(h s) x round(w s), halves up: 25 x 2.5 = 62.5 -> 63, 25 x 3.7 = 92.5 -> 93
    assert sizes == {"1": (25, 41), "2.5": (63, 103), "3.7": (93, 152), "4": (100, 164)}
    assert "upscaled x2.5" in capsys.readouterr().out
    assert main([str(img), "-o", str(tmp_path / "no"), "--model", str(path), "--scale", "5"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"error: scale 5: {path} takes 1 to 4"
    assert "Traceback" not in err
    assert not (tmp_path / "no").exists()


def test_the_clean_up_level_is_set_on_the_command_line(tmp_path, model_file, capsys):
    knob = tmp_path / "knob.pt"
    save_checkpoint(knob, film_model(cleanup=True), DiffusionConfig(), scale=4)
    img = tmp_path / "a.png"
    Image.fromarray(smooth_image(24, 32)).save(img)
    outs = {}
    estimated = TrainedModel.load(knob).level_of(upsample(smooth_image(24, 32), 4))
    for level in ("0", "0.5", "auto", f"{estimated:g}", None):
        out = tmp_path / f"out{level}"
        told = [] if level is None else ["--cleanup", level]
        assert main([str(img), "-o", str(out), "--model", str(knob), *told]) == 0
        outs[level] = np.asarray(Image.open(out / "a.png"))
    assert not np.array_equal(outs["0"], outs["0.5"])
    assert CLEANUP == 0 and np.array_equal(outs[None], outs["0"])  # the default
    assert np.array_equal(outs["auto"], outs[f"{estimated:g}"])  # told what its head estimates
    capsys.readouterr()
    args = [str(img), "-o", str(tmp_path / "no"), "--cleanup", "0.5"]
    assert main([*args, "--model", str(model_file)]) == 2
    err = capsys.readouterr().err
    line = f"error: cleanup 0.5: {model_file} has no clean-up knob (model.cleanup false)"
    assert err.strip().splitlines()[-1] == line and "Traceback" not in err
    assert main([*args, "--backend", "onnx"]) == 2
    assert "srcore-export --cleanup" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(img), "-o", str(tmp_path / "no"), "--model", str(knob), "--cleanup", "1.5"])
    assert "--cleanup: 1.5: allowed auto or a number in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
