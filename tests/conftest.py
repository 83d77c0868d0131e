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


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """(model file, its graph at x4): the tiny network, exported once for every test that needs a
    graph (about 30 s on 2 cores)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from srcore.config.schema import DiffusionConfig
    from srcore.deploy.export import export_model
    from srcore.net.checkpoint import save_checkpoint
    from tests.helpers.images import tiny_model

    root = tmp_path_factory.mktemp("export")
    pt, graph = root / "model.pt", root / "model.onnx"
    save_checkpoint(pt, tiny_model(), DiffusionConfig(), scale=4)
    assert export_model(pt, graph) == 4
    return pt, graph
