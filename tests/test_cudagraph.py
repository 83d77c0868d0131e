"""CUDA-graph sampling (marked cuda: skipped without a CUDA device, run by `make gpu-check`)."""

import pytest
import torch

from srcore.config.schema import DiffusionConfig
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.sampler import super_resolve
from srcore.net import dct
from srcore.net.cudagraph import SamplingNetwork
from srcore.net.device import autocast
from tests.helpers.images import tiny_model

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
DEV = torch.device("cuda")


def _churn() -> None:
    """Allocate, fill and free memory of many sizes: freed tensors that a graph still reads
    would be overwritten now."""
    for n in (1, 3, 7, 13, 29):
        torch.full((n, 1 << 20), float(n), device=DEV).sum().item()
    torch.cuda.synchronize()


def _eager(net, diffusion, y0):
    """The reference: the same bf16 network, no graphs, under an autocast without weight cache."""
    with autocast(DEV, cache=False):
        return super_resolve(net, diffusion, y0, 2)[0]


@pytest.mark.parametrize("cfg", [{"stem": 4, "dct_block": 4}, {"stem": 1, "dct_block": 8}])
def test_every_replay_equals_eager_across_shapes_and_allocator_churn(cfg):
    net = tiny_model(**cfg).to(DEV)
    net.requires_grad_(True)  # as a model being trained: autocast would cache its bf16 copies
    graphed, diffusion = SamplingNetwork(net, keep=4), ResShift.from_config(DiffusionConfig())
    diffusion = diffusion.respace(4)
    shapes = [(1, 3, 128, 192), (2, 3, 64, 64), (1, 3, 192, 128), (1, 3, 100, 70)]
    inputs = [torch.rand(*s, device=DEV) * 2 - 1 for s in shapes]
    for _ in range(2):  # the second round replays graphs captured in the first
        for y0 in inputs:
            with autocast(DEV):  # an outer autocast, as a caller may have opened
                out, _ = super_resolve(graphed, diffusion, y0, 2)
            _churn()
            ref = _eager(net, diffusion, y0)
            assert (out - ref).abs().max() < 2e-2, (cfg, tuple(y0.shape))  # bf16 both
    assert len(graphed._captured) == 4


def test_graphs_keep_their_dct_matrices_when_the_cache_drops_them(monkeypatch):
    monkeypatch.setattr(dct, "MAX_CACHED", 2)  # a whole-map DCT needs a matrix per size
    net = tiny_model(stem=2, dct_block=0).to(DEV)
    graphed = SamplingNetwork(net, keep=8)
    diffusion = ResShift.from_config(DiffusionConfig()).respace(4)
    sizes = [(64, 64), (128, 64), (64, 192), (192, 192)]
    inputs = [torch.rand(1, 3, h, w, device=DEV) * 2 - 1 for h, w in sizes]
    for y0 in inputs:
        super_resolve(graphed, diffusion, y0, 2)
    _churn()
    for y0 in inputs:  # replays of graphs whose matrices left the cache long ago
        out, _ = super_resolve(graphed, diffusion, y0, 2)
        assert (out - _eager(net, diffusion, y0)).abs().max() < 2e-2
    assert all(entry.matrices for entry in graphed._captured.values())
