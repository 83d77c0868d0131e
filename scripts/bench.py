"""Speed benchmark: srcore against the notebook's implementation, same process, same device.

    python scripts/bench.py [--size 256] [--batch 8] [--width 64] [--stem 1] [--dct-block 8]
                            [--compile] [--cuda-graph] [--notebook ../shared/reference/seed_ref.py]

Prints one JSON object: training images/s at `batch` x size^2, 15-step sampling seconds for one
image and for a batch, peak memory (CUDA: max allocated; CPU: the process's peak RSS, shared), the
network's cost (GFLOP of one forward pass per output megapixel, torch.utils.flop_counter) and the
GFLOP/s it achieves while sampling one image, for both implementations, and the ratios
srcore / notebook (higher is better for every ratio). srcore runs the notebook's width (64) and
layout (stem 1) unless told otherwise. The notebook's code is imported from ../shared/reference
when present, never copied. On CUDA srcore samples in bf16, as srcore-upscale does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from srcore.common.atomic import write_text
from srcore.config.schema import DiffusionConfig, ModelConfig
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.sampler import super_resolve
from srcore.net.cudagraph import SamplingNetwork
from srcore.net.device import pick_device
from srcore.net.unet import DualDomainUNet
from srcore.train.loop import train_step
from srcore.train.losses import SRLoss

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO.parent / "shared" / "reference" / "seed_ref.py"


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
    return {
        "gflop_per_mp": flops / 1e9 / (size * size / 1e6),
        "achieved_gflop_per_s": flops * steps / 1e9 / s_sample1,
    }


def bench_srcore(
    dev: torch.device,
    size: int,
    batch: int,
    n_train: int,
    n_sample: int,
    sync,
    compile_: bool = False,
    cfg: ModelConfig | None = None,
    cuda_graph: bool = False,
) -> dict:
    torch.manual_seed(0)
    cfg = cfg or ModelConfig(width=64, scales=())  # one scale, as the notebook's network
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
        cond = model.condition(y0, origin)
        return train_step(net, diffusion, loss_fn, opt, x0, y0, cond, t, noise)

    s_train = _timed(step, n_train, sync)
    out = {"params": model.num_params(), "train_img_per_s": batch / s_train}
    sampling_net = SamplingNetwork(net, graphs=cuda_graph) if dev.type == "cuda" else net
    for b in (1, batch):
        sample = lambda b=b: super_resolve(sampling_net, diffusion, y0[:b])  # noqa: E731
        out[f"sample15_s_b{b}"] = _timed(sample, n_sample, sync)
    cond = model.condition(y0[:1], origin[:1])
    flops = _forward_flops(lambda: model(y0[:1], t[:1], cond))
    return out | _cost(flops, size, out["sample15_s_b1"]) | {"model": cfg.to_dict()} | _peak(dev)


def bench_notebook(path: Path, dev, size, batch, n_train, n_sample, sync) -> dict:
    spec = importlib.util.spec_from_file_location("seed_ref", path)
    notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebook)
    torch.manual_seed(0)
    model = notebook.DualDomainUNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x0 = torch.rand(batch, 3, size, size, device=dev) * 2 - 1
    y0 = x0 + 0.05 * torch.randn_like(x0)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    s_train = _timed(lambda: notebook.train_step(model, opt, x0, y0), n_train, sync)
    out = {"params": sum(p.numel() for p in model.parameters()), "train_img_per_s": batch / s_train}
    for b in (1, batch):
        sample = lambda b=b: notebook.reverse_sample(model, y0[:b])  # noqa: E731
        out[f"sample15_s_b{b}"] = _timed(sample, n_sample, sync)
    y0a = notebook.augment_y0(y0[:1])  # its encodings (not counted: srcore's are not either)
    flops = _forward_flops(lambda: model(y0[:1], y0a, torch.ones(1, device=dev)))
    return out | _cost(flops, size, out["sample15_s_b1"]) | _peak(dev)


def ratios(notebook: dict, ours: dict, batch: int) -> dict:
    """srcore / the notebook, higher is better for each."""
    return {
        "train_img_per_s": ours["train_img_per_s"] / notebook["train_img_per_s"],
        **{
            f"sample15_speedup_b{b}": notebook[f"sample15_s_b{b}"] / ours[f"sample15_s_b{b}"]
            for b in (1, batch)
        },
        "flop_per_pixel_reduction": notebook["gflop_per_mp"] / ours["gflop_per_mp"],
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--width", type=int, default=64, help="srcore's width (the notebook's: 64)")
    ap.add_argument(
        "--stem", type=int, default=1, choices=(1, 2, 4), help="1: the notebook's layout"
    )
    ap.add_argument("--dct-block", type=int, default=8, choices=(0, 2, 4, 8, 16))
    ap.add_argument("--compile", action="store_true", help="torch.compile the srcore network")
    ap.add_argument("--cuda-graph", action="store_true", help="sample from CUDA graphs")
    ap.add_argument("--notebook", type=Path, default=NOTEBOOK)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    return ap


def main(argv: list[str] | None = None) -> dict:
    a = parser().parse_args(argv)
    dev = pick_device(a.device)
    cuda = dev.type == "cuda"
    if a.cuda_graph and not cuda:
        sys.exit("--cuda-graph needs a CUDA device (--device cuda)")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    n_train, n_sample = (30, 5) if cuda else (2, 1)
    name = torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)"
    res = {"device": name, "size": a.size, "batch": a.batch, "torch": torch.__version__}
    # The notebook first: on the CPU peak RSS is process-wide and only grows.
    res["notebook"] = None
    if a.notebook.is_file():
        res["notebook"] = bench_notebook(a.notebook, dev, a.size, a.batch, n_train, n_sample, sync)
    else:
        res["notebook_skipped"] = f"{a.notebook} not found"
    cfg = ModelConfig(width=a.width, stem=a.stem, dct_block=a.dct_block, scales=())
    args = (dev, a.size, a.batch, n_train, n_sample, sync, a.compile, cfg, a.cuda_graph)
    res["srcore"] = bench_srcore(*args)
    if res["notebook"]:
        res["ratios"] = ratios(res["notebook"], res["srcore"], a.batch)
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        write_text(a.out, text + "\n")
    return res


if __name__ == "__main__":
    main()
