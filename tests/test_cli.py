"""The shared error path (srcore.common.cli) and the two console scripts run as real commands."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from srcore.commands import evaluate, upscale
from srcore.common.cli import run
from srcore.common.errors import UserError
from tests.conftest import REPO


def command(module: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    """`python -m srcore.<module> args...` (evaluate, upscale) in a fresh interpreter."""
    name = {"evaluate": "srcore.commands.evaluate", "upscale": "srcore.commands.upscale"}[module]
    return subprocess.run(
        [sys.executable, "-m", name, *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
    )


def one_error_line(r: subprocess.CompletedProcess) -> str:
    """The single `error:` line of a command that exited 2 (fails on a traceback or more lines)."""
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def image_folder(path, n=2):
    path.mkdir()
    for i in range(n):
        Image.fromarray(
            np.random.default_rng(i).integers(0, 256, (40, 52, 3), dtype=np.uint8)
        ).save(path / f"{i}.png")
    return path


def test_run_exits_with_the_code_of_main_and_reports_user_errors_on_one_line(capsys):
    def fails(e):
        def main():
            raise e

        return main

    for main, code in [(lambda: 3, 3), (lambda: None, 0)]:
        with pytest.raises(SystemExit) as ex:
            run(main)
        assert ex.value.code == code
    errors = [
        UserError("m.pt: trained with another configuration:\n  model.width: 8\n  model.depth: 2"),
        FileNotFoundError("data/x: not a folder"),
        PermissionError("out.json: permission denied"),
    ]
    for e in errors:
        with pytest.raises(SystemExit) as ex:
            run(fails(e))
        err = capsys.readouterr().err
        assert ex.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert err == "error: out.json: permission denied\n"
    with pytest.raises(KeyError):  # a bug keeps its traceback
        run(fails(KeyError("bug")))


def test_cli_imports_nothing_but_the_errors():
    code = (
        "import json, sys, srcore.common.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('srcore'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert json.loads(out) == [
        "srcore",
        "srcore.common",
        "srcore.common.cli",
        "srcore.common.errors",
    ]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_error_line(tmp_path):
    hr = image_folder(tmp_path / "hr")
    line = one_error_line(
        command(
            "evaluate",
            "--bicubic",
            "--hr-dir",
            str(hr),
            "--out",
            str(tmp_path / "r.json"),
            "--device",
            "cuda",
        )
    )
    assert (
        "cuda" in line and "allowed: auto, cpu, cuda" in line and not (tmp_path / "r.json").exists()
    )
    line = one_error_line(
        command("upscale", str(hr), "-o", str(tmp_path / "out"), "--device", "cuda")
    )
    assert "cuda" in line and not (tmp_path / "out").exists()


def test_evaluate_on_an_empty_folder_is_one_error_line_naming_it(tmp_path):
    (tmp_path / "empty_hr").mkdir()
    line = one_error_line(
        command(
            "evaluate",
            "--bicubic",
            "--hr-dir",
            str(tmp_path / "empty_hr"),
            "--out",
            str(tmp_path / "r.json"),
        )
    )
    assert str(tmp_path / "empty_hr") in line and not (tmp_path / "r.json").exists()


def test_bicubic_without_scale_scores_at_x4(tmp_path):
    hr = image_folder(tmp_path / "hr", 3)
    r = command("evaluate", "--bicubic", "--hr-dir", str(hr), "--out", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["scale"] == 4 and res["n_images"] == 3 and np.isfinite(res["psnr_y"])


HELP_DEFAULTS = [
    ("evaluate", ["(default: 4 for --bicubic", "(default: auto)", "(default: 32)"]),
    ("upscale", ["(default: models/model.pt)", "(default: 1024)", "(default: auto)"]),
]


@pytest.mark.parametrize("module, defaults", HELP_DEFAULTS)
def test_help_names_the_command_and_explains_every_option_with_its_default(module, defaults):
    r = command(module, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: srcore-{module} ")
    text = " ".join(r.stdout.split())  # argparse wraps lines at the terminal's width
    assert all(d in text for d in defaults)
    ap = {"evaluate": evaluate, "upscale": upscale}[module].parser()
    assert ap.prog == f"srcore-{module}"
    for a in ap._actions:
        assert a.help, a.dest
        assert all(s in text for s in a.option_strings)
        if a.option_strings and a.default not in (None, argparse.SUPPRESS):
            assert f"(default: {a.default})" in text, a.dest
    assert any(
        a.dest == "device" and list(a.choices) == ["auto", "cpu", "cuda"] for a in ap._actions
    )


def test_evaluate_scale_choices_and_one_of_model_or_bicubic(tmp_path, capsys):
    hr = str(image_folder(tmp_path / "hr"))
    bicubic = ["--bicubic", "--scale"]
    for bad in ([*bicubic, "0.5"], [*bicubic, "x2"], ["--bicubic", "--model", "m.pt"], []):
        with pytest.raises(SystemExit) as ex:
            evaluate.main([*bad, "--hr-dir", hr, "--out", str(tmp_path / "r.json")])
        assert ex.value.code == 2
    assert "argument --scale: 0.5: allowed a number in 1..8" in capsys.readouterr().err
    for scale in ("2", "2.5"):
        out = tmp_path / f"{scale}.json"
        assert (
            evaluate.main(["--bicubic", "--scale", scale, "--hr-dir", hr, "--out", str(out)]) == 0
        )
        assert json.loads(out.read_text())["scale"] == float(scale)
    assert upscale.parser().parse_args(["a.png", "-o", "out"]).device == "auto"
