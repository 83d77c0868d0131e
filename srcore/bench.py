"""Speed benchmark: srcore against the seed notebook's implementation, same process, same device.

    python -m srcore.bench [--size 256] [--batch 8] [--width 64] [--stem 1] [--dct-block 8] [--compile]
                           [--seed-ref ../shared/reference/seed_ref.py]

Prints one JSON object: training images/s at `batch` x size^2, 15-step sampling seconds for one
image and for a batch, peak memory (CUDA: max allocated; CPU: the process's peak RSS, shared), the
network's cost (GFLOP of one forward pass per output megapixel, torch.utils.flop_counter) and the
GFLOP/s it achieves while sampling one image, for both implementations, and the ratios srcore / seed
(higher is better for every ratio). srcore runs the seed's width (64) and layout (stem 1) unless told
otherwise. The seed is imported from ../shared/reference when present, never copied.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from .atomic import write_text
from .cudagraph import CUDAGraphed
from .diffusion import DiffusionConfig, ResShift
from .losses import SRLoss
from .model import DualDomainUNet, ModelConfig
from .sampler import pick_device, super_resolve
from .train import train_step

DEFAULT_SEED_REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "seed_ref.py"


def _timed(fn, n: int, sync) -> float:
    fn()  # warm-up (and compilation)
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t0) / n


def _peak(dev: torch.device) -> dict:
    if dev.type == "cuda":
        return {"peak_mem_gb": torch.cuda.max_memory_allocated() / 1e9}
    # CPU: the process's peak RSS so far, which cannot tell the two implementations apart
    return {"process_peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _forward_flops(forward) -> float:
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        forward()
    return float(fc.get_total_flops())


def _cost(flops: float, size: int, s_sample1: float, steps: int = 15) -> dict:
    """GFLOP per output megapixel of one forward pass, and GFLOP/s achieved by 1-image sampling."""
    return {"gflop_per_mp": flops / 1e9 / (size * size / 1e6), "achieved_gflop_per_s": flops * steps / 1e9 / s_sample1}


def bench_srcore(
    dev, size, batch, n_train, n_sample, sync, compile_: bool = False, cfg: ModelConfig | None = None, cuda_graph: bool = False
) -> dict:
    torch.manual_seed(0)
    cfg = cfg or ModelConfig(width=64)
    model = DualDomainUNet(cfg).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model, dynamic=False) if compile_ else model
    diffusion, loss_fn = ResShift.from_config(DiffusionConfig(steps=15)), SRLoss().to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x0 = torch.rand(batch, 3, size, size, device=dev) * 2 - 1
    y0 = x0 + 0.05 * torch.randn_like(x0)
    origin = torch.zeros(batch, 2, dtype=torch.long, device=dev)
    t, noise = torch.randint(1, diffusion.num_steps + 1, (batch,)), torch.randn_like(x0)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step():  # what the training loop does per step (the batch arrives from the data loader)
        return train_step(net, diffusion, loss_fn, opt, x0, y0, model.condition(y0, origin), t, noise)

    s_train = _timed(step, n_train, sync)
    out = {"params": model.num_params(), "train_img_per_s": batch / s_train}
    sampler_net = CUDAGraphed(model) if cuda_graph else net
    for b in (1, batch):
        out[f"sample15_s_b{b}"] = _timed(lambda b=b: super_resolve(sampler_net, diffusion, y0[:b]), n_sample, sync)
    cond = model.condition(y0[:1], origin[:1])
    flops = _forward_flops(lambda: model(y0[:1], t[:1], cond))
    return out | _cost(flops, size, out["sample15_s_b1"]) | {"model": cfg.to_dict()} | _peak(dev)


def bench_seed(path: Path, dev, size, batch, n_train, n_sample, sync) -> dict:
    spec = importlib.util.spec_from_file_location("seed_ref", path)
    seed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed)
    torch.manual_seed(0)
    model = seed.DualDomainUNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x0 = torch.rand(batch, 3, size, size, device=dev) * 2 - 1
    y0 = x0 + 0.05 * torch.randn_like(x0)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    s_train = _timed(lambda: seed.train_step(model, opt, x0, y0), n_train, sync)
    out = {"params": sum(p.numel() for p in model.parameters()), "train_img_per_s": batch / s_train}
    for b in (1, batch):
        out[f"sample15_s_b{b}"] = _timed(lambda b=b: seed.reverse_sample(model, y0[:b]), n_sample, sync)
    y0a = seed.augment_y0(y0[:1])  # its encodings (not counted: srcore's are not either)
    flops = _forward_flops(lambda: model(y0[:1], y0a, torch.ones(1, device=dev)))
    return out | _cost(flops, size, out["sample15_s_b1"]) | _peak(dev)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--width", type=int, default=64, help="srcore's width (the seed's: 64)")
    ap.add_argument("--stem", type=int, default=1, choices=(1, 2, 4), help="srcore's pixel-unshuffle stem (1: the seed's layout)")
    ap.add_argument("--dct-block", type=int, default=8, choices=(0, 2, 4, 8, 16), help="srcore's DCT block side")
    ap.add_argument("--compile", action="store_true", help="torch.compile the srcore network")
    ap.add_argument("--cuda-graph", action="store_true", help="sample with the network replayed from CUDA graphs")
    ap.add_argument("--seed-ref", type=Path, default=DEFAULT_SEED_REF)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    a = ap.parse_args(argv)
    dev = pick_device(a.device)
    cuda = dev.type == "cuda"
    if a.cuda_graph and not cuda:
        ap.error("--cuda-graph needs a CUDA device (--device cuda)")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    n_train, n_sample = (30, 5) if cuda else (2, 1)
    res = {"device": torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)",
           "size": a.size, "batch": a.batch, "torch": torch.__version__}  # fmt: skip
    # The seed first on CPU: peak RSS is process-wide and only grows, so its figure is not inflated by ours.
    if a.seed_ref.is_file():
        res["seed"] = bench_seed(a.seed_ref, dev, a.size, a.batch, n_train, n_sample, sync)
    else:
        res["seed"] = None
        res["seed_skipped"] = f"{a.seed_ref} not found"
    cfg = ModelConfig(width=a.width, stem=a.stem, dct_block=a.dct_block)
    res["srcore"] = bench_srcore(dev, a.size, a.batch, n_train, n_sample, sync, a.compile, cfg, a.cuda_graph)
    if res["seed"]:
        s, o = res["seed"], res["srcore"]
        res["ratios"] = {
            "train_img_per_s": o["train_img_per_s"] / s["train_img_per_s"],
            **{f"sample15_speedup_b{b}": s[f"sample15_s_b{b}"] / o[f"sample15_s_b{b}"] for b in (1, a.batch)},
            "flop_per_pixel_reduction": s["gflop_per_mp"] / o["gflop_per_mp"],
        }
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        write_text(a.out, text + "\n")
    return res


if __name__ == "__main__":
    main()
