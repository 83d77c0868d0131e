import json

import numpy as np
import pytest
from PIL import Image

from srcore.checkpoint import save_checkpoint
from srcore.diffusion import DiffusionConfig
from srcore.evaluate import main
from tests.conftest import REQUIRED_METRIC_KEYS, shared_dataset
from tests.test_upscale import smooth_image, tiny_model


def test_bicubic_on_set5_from_the_command_line(tmp_path):
    out = tmp_path / "set5.json"
    assert main(["--bicubic", "--scale", "4", "--hr-dir", str(shared_dataset("Set5")), "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert REQUIRED_METRIC_KEYS <= set(r) and r["n_images"] == 5 and r["psnr_y_gain"] == 0
    assert r["psnr_y"] == pytest.approx(28.43, abs=0.02) and len(r["images"]) == 5


def test_a_model_on_any_folder(tmp_path, capsys):
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(70, 90, i)).save(hr / f"{i}.png")
    (hr / "bad.png").write_bytes(b"")
    save_checkpoint(tmp_path / "m.pt", tiny_model(), DiffusionConfig(kappa=1.0), scale=4)
    out = tmp_path / "r.json"
    assert main(["--model", str(tmp_path / "m.pt"), "--hr-dir", str(hr), "--out", str(out), "--steps", "2"]) == 0
    r = json.loads(out.read_text())
    assert REQUIRED_METRIC_KEYS <= set(r) and r["n_images"] == 2 and r["steps"] == 2 and r["params_count"] > 0
    assert r["psnr_y"] != r["psnr_y_bicubic"] and np.isfinite(r["psnr_y"])
    assert "bad.png" in capsys.readouterr().err
    assert main(["--model", str(tmp_path / "nope.pt"), "--hr-dir", str(hr), "--out", str(out)]) == 2
