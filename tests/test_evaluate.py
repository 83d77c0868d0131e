import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from srcore.commands.evaluate import main
from srcore.config.params import default_params_yaml, load_params, load_real_group
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, RealConfig
from srcore.data.degrade import degrade, upsample
from srcore.diffusion.loader import Sampler, TrainedModel
from srcore.diffusion.resshift import ResShift
from srcore.eval.metrics import score
from srcore.eval.scoring import evaluate_images, folder_items
from srcore.net.checkpoint import save_checkpoint
from tests.conftest import REQUIRED_METRIC_KEYS, shared_dataset
from tests.helpers.images import smooth_image, tiny_model
from tests.helpers.lpips_weights import write_weights


def test_bicubic_on_set5_from_the_command_line(tmp_path):
    out = tmp_path / "set5.json"
    assert (
        main(
            [
                "--bicubic",
                "--scale",
                "4",
                "--hr-dir",
                str(shared_dataset("Set5")),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    r = json.loads(out.read_text())
    assert REQUIRED_METRIC_KEYS <= set(r) and r["n_images"] == 5
    assert r["psnr_y"] == pytest.approx(28.43, abs=0.02) and len(r["images"]) == 5


def test_a_model_on_any_folder(tmp_path, capsys):
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(70, 90, i)).save(hr / f"{i}.png")
    (hr / "bad.png").write_bytes(b"")
    save_checkpoint(tmp_path / "m.pt", tiny_model(), DiffusionConfig(kappa=1.0), scale=4)
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "--model",
                str(tmp_path / "m.pt"),
                "--hr-dir",
                str(hr),
                "--out",
                str(out),
                "--steps",
                "2",
            ]
        )
        == 0
    )
    r = json.loads(out.read_text())
    assert (
        REQUIRED_METRIC_KEYS <= set(r)
        and r["n_images"] == 2
        and r["steps"] == 2
        and r["params_count"] > 0
    )
    assert r["psnr_y"] != r["psnr_y_bicubic"] and np.isfinite(r["psnr_y"])
    assert "bad.png" in capsys.readouterr().err
    assert main(["--model", str(tmp_path / "nope.pt"), "--hr-dir", str(hr), "--out", str(out)]) == 2


def error_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_a_folder_without_readable_images_is_one_error_naming_it(tmp_path, capsys):
    out = tmp_path / "r.json"
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("no images here")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "broken" / "b.jpg").write_bytes(b"")
    said = {}
    for folder in ("text", "broken", "missing"):
        assert main(["--bicubic", "--hr-dir", str(tmp_path / folder), "--out", str(out)]) == 2
        lines = error_lines(capsys)
        assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / folder}"), lines
        said[folder] = lines[0]
    assert "no images" in said["text"] and "none of its 2 image(s) could be read" in said["broken"]
    assert not out.exists()


def test_bad_steps_or_tile_with_a_model_are_one_error_line(tmp_path, capsys):
    hr = tmp_path / "hr"
    hr.mkdir()
    Image.fromarray(smooth_image(40, 40)).save(hr / "a.png")
    save_checkpoint(tmp_path / "m.pt", tiny_model(), DiffusionConfig(), scale=4)
    for bad in (["--steps", "5000"], ["--steps", "0"], ["--tile", "50"]):
        assert (
            main(
                [
                    "--model",
                    str(tmp_path / "m.pt"),
                    "--hr-dir",
                    str(hr),
                    "--out",
                    str(tmp_path / "r.json"),
                    *bad,
                ]
            )
            == 2
        )
        lines = error_lines(capsys)
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad[0][2:]} {bad[1]}"), lines
    assert not (tmp_path / "r.json").exists()


def test_evaluation_is_deterministic_whatever_the_global_rng(tmp_path):
    hr = smooth_image(128, 160)
    y0 = upsample(degrade(hr, 4)[1], 4)
    model, diffusion = tiny_model(), ResShift.from_config(DiffusionConfig()).respace(3)
    runs = []
    for rng_seed in (0, 99):
        torch.manual_seed(rng_seed)
        summary, rows, _ = evaluate_images(
            [("a", hr, y0)], 4, Sampler(model, diffusion, SamplingSpec(scale=4, seed=0))
        )
        runs.append(({k: v for k, v in summary.items() if k != "seconds"}, rows))
    assert runs[0] == runs[1]
    other, _, _ = evaluate_images(
        [("a", hr, y0)], 4, Sampler(model, diffusion, SamplingSpec(scale=4, seed=1))
    )
    assert other["psnr_y"] != runs[0][0]["psnr_y"]


def test_the_command_line_scores_real_degradations_and_lpips(tmp_path):
    set5, weights = str(shared_dataset("Set5")), tmp_path / "lpips"
    write_weights(weights)
    scores = {}
    for degradation in ("bicubic", "real"):
        out = tmp_path / f"{degradation}.json"
        args = ["--bicubic", "--hr-dir", set5, "--out", str(out), "--degradation", degradation]
        assert main([*args, "--lpips-dir", str(weights)]) == 0
        scores[degradation] = json.loads(out.read_text())
    assert scores["real"]["psnr_y"] < scores["bicubic"]["psnr_y"] - 1  # the LR is degraded
    assert scores["real"]["lpips"] > scores["bicubic"]["lpips"] > 0
    again = tmp_path / "again.json"
    main(["--bicubic", "--hr-dir", set5, "--out", str(again), "--degradation", "real"])
    assert json.loads(again.read_text())["psnr_y"] == scores["real"]["psnr_y"]  # fixed draws


def test_a_non_integer_scale_crops_a_border_of_its_ceiling():
    hr = smooth_image(40, 50)
    y0 = hr.copy()
    y0[2], y0[:, -3] = 0, 255  # wrong only inside a 3-pixel border
    summary, rows, _ = evaluate_images([("a.png", hr, y0)], 2.5)
    assert rows[0]["psnr_y_bicubic"] == float("inf") and summary["scale"] == 2.5
    _, rows, _ = evaluate_images([("a.png", hr, y0)], 2)
    assert rows[0]["psnr_y_bicubic"] < 40


def test_a_multi_scale_model_from_the_command_line(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    Image.fromarray(smooth_image(61, 83)).save(hr / "a.png")
    model = tmp_path / "any.pt"
    save_checkpoint(model, tiny_model(scales=(1.0, 4.0)), DiffusionConfig(), scale=4)
    scores = {}
    for scale in ("2.5", "4"):
        out = tmp_path / f"{scale}.json"
        args = ["--model", str(model), "--scale", scale, "--hr-dir", str(hr), "--out", str(out)]
        assert main([*args, "--steps", "1"]) == 0
        scores[scale] = json.loads(out.read_text())
    assert scores["2.5"]["scale"] == 2.5 and scores["4"]["scale"] == 4
    assert scores["2.5"]["psnr_y_bicubic"] > scores["4"]["psnr_y_bicubic"]  # the easier task
    assert main(["--model", str(model), "--scale", "5", "--hr-dir", str(hr), "--out", "x"]) == 2


def test_a_clean_up_model_is_told_the_level_it_estimates_or_the_one_given(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    Image.fromarray(smooth_image(48, 64)).save(hr / "a.png")
    model = tmp_path / "knob.pt"
    save_checkpoint(model, tiny_model(cleanup=True), DiffusionConfig(), scale=4)
    trained, scores = TrainedModel.load(model), {}
    for degradation in ("bicubic", "real"):
        ((_, _, y0),) = folder_items(hr, 4, degradation)
        estimated = f"{trained.level_of(y0):g}"
        for level in (None, "auto", "0", "1", estimated):
            out = tmp_path / f"{degradation}{level}.json"
            args = ["--model", str(model), "--hr-dir", str(hr), "--out", str(out), "--steps", "1"]
            told = [] if level is None else ["--cleanup", level]
            assert main([*args, "--degradation", degradation, *told]) == 0
            scores[degradation, level] = json.loads(out.read_text())["psnr_y"]
        default = "0" if degradation == "bicubic" else "1"  # as the evaluate stage tells them
        assert scores[degradation, None] == scores[degradation, default]
        assert scores[degradation, "auto"] == scores[degradation, estimated]
        assert scores[degradation, "0"] != scores[degradation, "1"]
    bicubic = ["--bicubic", "--hr-dir", str(hr), "--out", str(tmp_path / "b.json")]
    assert main([*bicubic, "--cleanup", "0.5"]) == 2  # a level is for a model
    assert not (tmp_path / "b.json").exists()


def test_real_params_take_the_real_group_of_a_params_file(tmp_path, capsys):
    hr_dir = tmp_path / "hr"
    hr_dir.mkdir()
    Image.fromarray(smooth_image(64, 64, seed=3)).save(hr_dir / "a.png")
    params = yaml.safe_load(default_params_yaml())
    params["real"].update(noise_range=[0.0, 0.0], poisson_range=[0.0, 0.0], final_sinc_prob=0.0)
    milder = tmp_path / "params.yaml"
    milder.write_text(yaml.safe_dump(params))
    scores = {}
    for name, extra in (("default", []), ("milder", ["--real-params", str(milder)])):
        out = tmp_path / f"{name}.json"
        args = ["--bicubic", "--hr-dir", str(hr_dir), "--out", str(out), "--degradation", "real"]
        assert main([*args, *extra]) == 0
        scores[name] = json.loads(out.read_text())["psnr_y"]
    ((_, hr, y0),) = folder_items(hr_dir, 4, "real", load_params(milder).real)
    assert scores["milder"] == score(y0, hr, 4)["psnr_y"] != scores["default"]
    capsys.readouterr()
    args = ["--bicubic", "--hr-dir", str(hr_dir), "--out", str(tmp_path / "x.json")]
    assert main([*args, "--real-params", str(milder)]) == 2  # a clean LR has no real group
    assert len(lines := error_lines(capsys)) == 1 and str(milder) in lines[0]
    milder.write_text("real: {jpeg_range: [30, 101]}\n")  # the group alone, with a bad value
    assert main([*args, "--degradation", "real", "--real-params", str(milder)]) == 2
    assert len(lines := error_lines(capsys)) == 1 and "real.jpeg_range" in lines[0]
    milder.write_text("kappa: 2\n")  # no real group
    assert main([*args, "--degradation", "real", "--real-params", str(milder)]) == 2
    assert len(lines := error_lines(capsys)) == 1 and "a `real` group" in lines[0]
    milder.write_text("real: {noise_range: [0, 0]}\n")  # a key left out keeps its default
    assert load_real_group(milder) == replace(RealConfig(), noise_range=(0.0, 0.0))
