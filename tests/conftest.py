import warnings
from pathlib import Path

import pytest
import torch

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
torch.set_num_threads(2)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
# the keys that metrics/metrics.json and `srcore-evaluate` must report
REQUIRED_METRIC_KEYS = {
    "psnr_y",
    "ssim_y",
    "psnr_rgb",
    "ssim_rgb",
    "psnr_y_bicubic",
    "ssim_y_bicubic",
    "psnr_y_gain",
    "steps",
    "params_count",
}


def shared_dataset(name: str) -> Path:
    """A folder of ../shared/datasets, or skip the test with the reason."""
    d = SHARED_DATASETS / name
    if not d.is_dir():
        pytest.skip(
            f"{d} is absent (benchmark images live outside the repository, in ../shared/datasets)"
        )
    return d


def load_stage(name: str):
    """Import stages/<name>.py as a module (the stage scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "stages" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
