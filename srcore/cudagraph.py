"""CUDA-graph replay of the network's inference forward pass (sampling only).

A small network on a large GPU is bound by kernel launches, not arithmetic: one forward pass is
hundreds of small kernels. The sampler calls the network with the same shapes at every step, so
the pass is captured once per input shape (`torch.cuda.CUDAGraph`) and replayed: one launch per
step. The wrapper looks like the network to srcore.sampler (cfg, condition, parameters), copies
each call's inputs into the captured buffers and returns a copy of the captured output. A shape is
captured the second time it is seen (a one-off shape, e.g. an image sampled in one step, runs eagerly:
capturing costs three passes), and the least recently used graphs are dropped beyond `keep`.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .model import DualDomainUNet
from .sampler import autocast


class CUDAGraphed(nn.Module):
    """CUDAGraphed(model)(x_t, t, cond) == model(x_t, t, cond) under bf16 autocast, replayed from a graph
    captured for each (x_t, t, cond) shape seen twice. CUDA only; the graphs keep their own memory pool."""

    def __init__(self, model: DualDomainUNet, keep: int = 4):
        super().__init__()
        self.keep = keep  # graphs kept (one per input shape: a tile, the edge tiles, an image)
        if next(model.parameters()).device.type != "cuda":
            raise ValueError("CUDA graphs need the model on a CUDA device")
        self.net = model
        self.cfg = model.cfg
        self._graphs: OrderedDict[tuple, tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]] = OrderedDict()
        self._seen: set[tuple] = set()

    def condition(self, y0: torch.Tensor, origin: torch.Tensor | None = None) -> torch.Tensor:
        return self.net.condition(y0, origin)

    def num_params(self) -> int:
        return self.net.num_params()

    def _capture(self, inputs: list[torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]:
        static = [x.clone() for x in inputs]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad(), autocast(static[0].device):
            for _ in range(2):  # warm-up outside the graph (cuDNN picks its algorithms here)
                self.net(*static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad(), autocast(static[0].device):
            out = self.net(*static)
        return graph, static, out

    @torch.no_grad()
    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        inputs = [x_t, t.to(x_t.device), cond]
        key = tuple((tuple(x.shape), x.dtype) for x in inputs)
        if key not in self._graphs:
            if key not in self._seen:  # first sight: eager
                self._seen.add(key)
                with autocast(x_t.device):
                    return self.net(*inputs)
            if len(self._graphs) >= self.keep:  # whole images of many sizes: keep the memory bounded
                self._graphs.popitem(last=False)
            self._graphs[key] = self._capture(inputs)
        self._graphs.move_to_end(key)
        graph, static, out = self._graphs[key]
        for buf, x in zip(static, inputs):
            buf.copy_(x)
        graph.replay()
        return out.clone()


def for_sampling(model: DualDomainUNet) -> nn.Module:
    """The model as the samplers should call it: CUDA-graphed on a CUDA device, itself elsewhere."""
    return CUDAGraphed(model) if next(model.parameters()).device.type == "cuda" else model
