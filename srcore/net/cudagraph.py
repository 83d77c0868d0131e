"""The network as the samplers call it on a GPU: bf16 autocast, replayed from CUDA graphs.

A small network on a large GPU is bound by kernel launches, not arithmetic: one forward pass is
hundreds of small kernels. The sampler calls the network with the same shapes at every step, so
the pass is captured once per input shape (`torch.cuda.CUDAGraph`) and replayed: one launch per
step. A shape is captured the second time it is seen (a one-off shape, e.g. an image sampled in
one step, runs eagerly: capturing costs three passes), and the least recently used graphs are
dropped beyond `keep`.

A graph replays reads of the exact tensors it was captured with, so everything it reads must live as
long as it does: the weights (the model's own parameters: autocast runs without its weight cache,
whose bf16 copies would be freed when the context exits), the static input and output buffers, and
the DCT matrices (held by the graph's entry; srcore.net.dct may drop them from its cache).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from srcore.net.dct import keep_used_matrices
from srcore.net.device import autocast
from srcore.net.unet import AtLevel, DualDomainUNet


class Captured(NamedTuple):
    graph: torch.cuda.CUDAGraph
    inputs: list[torch.Tensor]  # the static buffers each call's inputs are copied into
    output: torch.Tensor
    matrices: list[torch.Tensor]  # the DCT matrices the graph reads


class SamplingNetwork(nn.Module):
    """SamplingNetwork(model)(x_t, t, cond) == model(x_t, t, cond) under bf16 autocast (no weight
    cache), replayed from a graph captured for each (x_t, t, cond) shape seen twice when `graphs`.
    CUDA only; the graphs keep their own memory pool."""

    def __init__(self, model: DualDomainUNet | AtLevel, graphs: bool = True, keep: int = 4):
        super().__init__()
        if next(model.parameters()).device.type != "cuda":
            raise ValueError("SamplingNetwork needs the model on a CUDA device")
        self.net = model
        self.cfg = model.cfg
        self.graphs = graphs
        self.keep = keep  # graphs kept (one per input shape: a tile, the edge tiles, an image)
        self._captured: OrderedDict[tuple, Captured] = OrderedDict()
        self._seen: set[tuple] = set()

    def condition(self, *args, **kwargs) -> torch.Tensor:
        """The network's condition(): it runs once per image, eagerly."""
        return self.net.condition(*args, **kwargs)

    def num_params(self) -> int:
        return self.net.num_params()

    def _eager(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        with torch.no_grad(), autocast(inputs[0].device, cache=False):
            return self.net(*inputs)

    def _capture(self, inputs: list[torch.Tensor]) -> Captured:
        static = [x.clone() for x in inputs]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # warm-up outside the graph (cuDNN picks its algorithms here)
                self._eager(static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with keep_used_matrices() as matrices, torch.cuda.graph(graph):
            output = self._eager(static)
        return Captured(graph, static, output, matrices)

    @torch.no_grad()
    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        inputs = [x_t, t.to(x_t.device), cond]
        if not self.graphs:
            return self._eager(inputs)
        key = tuple((tuple(x.shape), x.dtype) for x in inputs)
        if key not in self._captured:
            if key not in self._seen:  # first sight: eager
                self._seen.add(key)
                return self._eager(inputs)
            if len(self._captured) >= self.keep:  # images of many sizes: bounded memory
                self._captured.popitem(last=False)
            self._captured[key] = self._capture(inputs)
        self._captured.move_to_end(key)
        entry = self._captured[key]
        for buf, x in zip(entry.inputs, inputs):
            buf.copy_(x)
        entry.graph.replay()
        return entry.output.clone()


def for_sampling(model: DualDomainUNet | AtLevel) -> nn.Module:
    """The model as the samplers should call it: bf16 and CUDA graphs on a GPU, itself elsewhere."""
    return SamplingNetwork(model) if next(model.parameters()).device.type == "cuda" else model
