"""The CUDA path: bf16 autocast, channels_last, torch.compile, the bf16 wavelet branch, tiled
upscaling
and DDP with one GPU under torchrun. Marked `cuda`: skipped without a CUDA device, run by `make
gpu-check`."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig, LossConfig, ModelConfig
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.tiles import super_resolve_image
from srcore.net.unet import DualDomainUNet, DWTBranch
from srcore.train.loop import train_step
from srcore.train.losses import SRLoss
from tests.conftest import REPO
from tests.helpers.images import smooth_image, tiny_model

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs a CUDA device; run on a GPU machine by `make gpu-check`",
    ),
]
DEV = torch.device("cuda")


def batch(b=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    y0 = (x0 + 0.1 * torch.randn(b, 3, size, size, generator=g)).clamp(-1, 1)
    return x0.to(DEV), y0.to(DEV)


def model(width=16, seed=0):
    torch.manual_seed(seed)
    m = DualDomainUNet(ModelConfig(width=width, time_dim=32, scales=())).to(DEV)
    torch.nn.init.normal_(m.out.weight, std=0.05)
    return m


def forward(m, x0, y0):
    t = torch.full((x0.shape[0],), 7, device=DEV)
    return m(x0, t, m.condition(y0))


def test_bf16_autocast_forward_is_close_to_fp32_and_a_training_step_is_finite():
    m, (x0, y0) = model(), batch()
    with torch.no_grad():
        ref = forward(m, x0, y0)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = forward(m, x0, y0).float()
    assert (low - ref).abs().max() < 0.05 * ref.abs().max() + 1e-3
    diffusion, opt = ResShift.from_config(DiffusionConfig()), torch.optim.Adam(m.parameters(), 1e-4)
    t = torch.randint(1, 16, (2,))
    loss, applied = train_step(
        m,
        diffusion,
        SRLoss(LossConfig()).to(DEV),
        opt,
        x0,
        y0,
        m.condition(y0),
        t,
        torch.randn_like(x0),
    )
    assert applied and torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_channels_last_gives_the_same_output():
    m, (x0, y0) = model(), batch()
    with torch.no_grad():
        ref = forward(m, x0, y0)
        out = forward(
            m.to(memory_format=torch.channels_last),
            x0.contiguous(memory_format=torch.channels_last),
            y0,
        )
    assert torch.allclose(out, ref, atol=1e-4, rtol=1e-3)


def test_compiled_network_matches_eager():
    m, (x0, y0) = model(), batch()
    compiled = torch.compile(m, dynamic=False)
    with torch.no_grad():
        assert torch.allclose(forward(compiled, x0, y0), forward(m, x0, y0), atol=1e-3, rtol=1e-3)


def test_the_wavelet_branch_runs_in_bf16_under_autocast_close_to_fp32_with_gradients():
    torch.manual_seed(0)
    branch = DWTBranch(8).to(DEV)
    x = torch.randn(2, 8, 32, 32, device=DEV, requires_grad=True)
    ref = branch(x)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = branch(x.to(torch.bfloat16))
    assert (
        y.dtype == torch.bfloat16
    )  # written-out Haar: no fp32 detour (pytorch-wavelets needed one)
    assert (y.float() - ref).abs().max() < 0.05 * ref.abs().max()
    y.float().square().mean().backward()
    assert torch.isfinite(x.grad).all() and all(
        torch.isfinite(p.grad).all() for p in branch.parameters()
    )


def test_tiled_upscaling_on_cuda_matches_whole_and_cpu():
    net, diffusion = tiny_model(), ResShift.from_config(DiffusionConfig()).respace(4)
    y0 = smooth_image(300, 420)
    cpu = super_resolve_image(net, diffusion, y0, SamplingSpec(seed=3)).astype(np.float64)
    net = net.to(DEV)
    whole = super_resolve_image(net, diffusion, y0, SamplingSpec(seed=3)).astype(np.float64)
    tiled = super_resolve_image(
        net, diffusion, y0, SamplingSpec(seed=3, tile=128, overlap=32)
    ).astype(np.float64)
    assert np.abs(whole - tiled).mean() < 1.0  # < 1/255 mean absolute error, as on the CPU
    assert np.abs(whole - cpu).mean() < 1.0  # bf16 network, same keyed noise


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_ddp_with_two_gpus_under_torchrun_matches_one_process(tmp_path):
    worker = str(REPO / "tests" / "helpers" / "ddp_train.py")
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd = [*run, worker, str(tmp_path / "ddp"), "cuda", "4"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    single = [
        sys.executable,
        str(REPO / "tests" / "helpers" / "ddp_train.py"),
        str(tmp_path / "one"),
        "cuda",
        "4",
    ]
    r = subprocess.run(single, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (torch.load(tmp_path / d / "final.pt", weights_only=True) for d in ("ddp", "one"))
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-4, rtol=1e-3), k


def test_stem_tiles_and_the_averaged_sampler_on_cuda():
    net, diffusion = (
        tiny_model(stem=4, dct_block=4).to(DEV),
        ResShift.from_config(DiffusionConfig()).respace(4),
    )
    y0 = smooth_image(300, 420)
    whole = super_resolve_image(
        net, diffusion, y0, SamplingSpec(seed=3, samples=2, ensemble=True)
    ).astype(np.float64)
    tiled = super_resolve_image(
        net, diffusion, y0, SamplingSpec(seed=3, tile=256, overlap=32, samples=2, ensemble=True)
    ).astype(np.float64)
    assert np.abs(whole - tiled).mean() < 1.0
