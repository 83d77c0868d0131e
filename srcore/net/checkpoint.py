"""Saving and loading models: atomic writes, no pickled code on load, config checked before shapes.

A model file is a plain dict: {"format", "model_config", "diffusion_config", "scale" (the
prepared scale; model_config's `scales` is the range a multi-scale model takes), "model" (state
dict), ...extra (step, optimizer, ...)}. The resolved configs travel inside it, so every
consumer rebuilds exactly the network that was trained.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

import torch

from srcore.common.atomic import atomic_write
from srcore.common.errors import UserError
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.net.unet import DualDomainUNet

FORMAT = "srcore-model/1"


class ModelFileError(UserError, ValueError):
    """A model file that is missing, unsafe, of another format or of another configuration."""


def save_checkpoint(
    path: str | os.PathLike, model: DualDomainUNet, diffusion: DiffusionConfig, scale: int, **extra
) -> None:
    """Write atomically: a kill mid-write leaves the previous file (or none), never half of one."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "model_config": model.cfg.to_dict(),
        "diffusion_config": diffusion.to_dict(),
        "scale": int(scale),
        "model": state,
        **extra,
    }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load the dict with weights_only=True: a file whose unpickling would run code is refused."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    if path.suffix.lower() == ".onnx" and not zipfile.is_zipfile(path):  # torch.save's are zips
        raise ModelFileError(
            f"{path}: an ONNX graph, not a model file (srcore-upscale --backend onnx)"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        why = re.search(r"WeightsUnpickler error:\s*([^;.\n]+)", str(e))
        raise ModelFileError(
            f"{path}: refused: not a plain weights file (loading it would run code)"
            + (f": {why.group(1)}" if why else "")
        ) from e
    except Exception as e:  # truncated or foreign file
        raise ModelFileError(f"{path}: cannot read model file ({type(e).__name__}: {e})") from e
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an srcore model file (expected format {FORMAT!r})")
    return checkpoint


def config_mismatches(saved: dict, expected: dict) -> list[str]:
    """'key: file has A, asked for B' for every setting that differs."""
    keys = sorted(set(saved) | set(expected))
    return [
        f"{k}: file has {saved.get(k)!r}, asked for {expected.get(k)!r}"
        for k in keys
        if saved.get(k) != expected.get(k)
    ]


def load_model(
    path: str | os.PathLike,
    expect_model: ModelConfig | None = None,
    expect_diffusion: DiffusionConfig | None = None,
    device: torch.device | str = "cpu",
) -> tuple[DualDomainUNet, DiffusionConfig, dict]:
    """Rebuild the saved network from its own config and load its weights.

    With expect_* given, a file of another configuration stops with the list of mismatched settings
    (before any tensor shape can disagree). Returns (model in eval mode, diffusion config, file
    dict).
    """
    checkpoint = read_checkpoint(path)
    # Older files lack later settings: the stem (they ran the UNet at full resolution),
    # model.scales (one scale, for which scale_input means nothing) and the clean-up knob.
    olds = (("stem", 1), ("scales", ()), ("scale_input", ModelConfig().scale_input))
    for key, old in (*olds, ("cleanup", False)):
        checkpoint["model_config"].setdefault(key, old)
    problems = []
    if expect_model is not None:
        saved, expected = checkpoint["model_config"], expect_model.to_dict()
        if not saved["scales"] and not expected["scales"]:  # scale_input: only with a range
            saved, expected = (
                {k: v for k, v in d.items() if k != "scale_input"} for d in (saved, expected)
            )
        problems += [f"model.{m}" for m in config_mismatches(saved, expected)]
    if expect_diffusion is not None:
        problems += [
            f"diffusion.{m}"
            for m in config_mismatches(checkpoint["diffusion_config"], expect_diffusion.to_dict())
        ]
    if problems:
        raise ModelFileError(
            f"{path}: trained with a different configuration:\n  " + "\n  ".join(problems)
        )
    try:
        model = DualDomainUNet(ModelConfig.from_dict(checkpoint["model_config"]))
        diffusion = DiffusionConfig.from_dict(checkpoint["diffusion_config"])
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: its settings are not this version's: {e}") from e
    # Files from before the Haar transform was written out carry pytorch-wavelets' fixed
    # filters, which are not weights.
    try:
        old_filters = (".dwt.dwt.", ".dwt.idwt.")
        state = checkpoint["model"]
        if model.cfg.cleanup and not any(k.startswith("level_head.") for k in state):
            del model.level_head  # a clean-up model from before the level estimator
        model.load_state_dict(
            {k: v for k, v in state.items() if not any(f in k for f in old_filters)}
        )
    except RuntimeError as e:  # weights that do not fit the settings saved beside them
        raise ModelFileError(
            f"{path}: its weights do not match its own settings: {str(e).splitlines()[0]}"
        ) from e
    # sampling weights need no gradient (and autocast caches the bf16 copies of those that do)
    return model.to(device).eval().requires_grad_(False), diffusion, checkpoint
