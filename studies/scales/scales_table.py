"""The any-scale study's table from `dvc exp show --json`: PSNR-Y per model and scale.

    python studies/scales/scales_table.py EXP_SHOW.json NAME... > studies/scales/table.md

EXP_SHOW.json: `dvc exp show --json` (or the rows of several, concatenated into one list).

A model's own scale is scored at the top level of metrics.json, the others under x<scale>; a
dedicated model has one column, a model.scales model all of them. Bicubic is the same for every
model at a scale (the same LR), so it is one row.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone

BLOCKS = ("Set5", "Set14", None)  # None: the validation images (the top level of a block)


def experiments(rows: list[dict]) -> dict[str, dict]:
    """{experiment name: its metrics.json} from dvc exp show --json."""
    out = {}
    for r in rows:
        for e in [r, *[x for ex in r.get("experiments") or [] for x in ex["revs"]]]:
            metrics = (e.get("data") or {}).get("metrics", {}).get("metrics/metrics.json", {})
            if e.get("name") and "data" in metrics:
                out[e["name"]] = metrics["data"]
    return out


def baselines(rows: list[dict], names: list[str]) -> str:
    """The commits the named experiments were run on, e.g. '0c48af1' or '0c48af1, 0882e51'
    (a table can gather `dvc exp show --json` of several)."""
    found = []
    for r in rows:
        exps = [x for ex in r.get("experiments") or [] for x in ex["revs"]]
        if any(x.get("name") in names for x in exps) and r["rev"][:7] not in found:
            found.append(r["rev"][:7])
    return ", ".join(found) or "none"


def by_scale(m: dict) -> dict[float, dict]:
    """{scale: that scale's block} of one metrics.json."""
    out = {float(m["scale"]): m}
    for key, block in m.items():
        if key.startswith("x") and isinstance(block, dict):
            out[float(key[1:])] = block
    return out


def cell(block: dict | None, where: str | None, key: str = "psnr_y") -> str:
    """One score of a scale's block, e.g. '31.69'; on the validation images (where None) with the
    gain over that model's own bicubic, e.g. '31.20 (+0.55)'; '-' where the model has none."""
    if block is None:
        return "-"
    b = block if where is None else block.get(where)
    if b is None or key not in b:
        return "-"
    return f"{b[key]:.2f}" if where else f"{b[key]:.2f} ({b['psnr_y_gain']:+.2f})"


def table(metrics: dict[str, dict], names: list[str]) -> list[str]:
    """Markdown: per block (Set5, Set14, the validation images) a row per model, a column per
    scale, and on the benchmarks a bicubic row (the same LR for every model there)."""
    scales = sorted({s for n in names for s in by_scale(metrics[n])})
    lines = []
    for where in BLOCKS:
        title = where or "validation images (chelsea, coffee), gain over bicubic"
        head = f"| {title} | " + " | ".join(f"x{s:g}" for s in scales) + " |"
        lines += [head, "|" + " --- |" * (len(scales) + 1)]
        if where is not None:  # the validation images' crops may differ between models' versions
            scored = [by_scale(metrics[n]) for n in names]
            first = {s: next(b[s] for b in scored if s in b) for s in scales}
            bicubic = [cell(first[s], where, "psnr_y_bicubic") for s in scales]
            lines.append("| bicubic | " + " | ".join(bicubic) + " |")
        for n in names:
            blocks = by_scale(metrics[n])
            lines.append(
                f"| {n} | " + " | ".join(cell(blocks.get(s), where) for s in scales) + " |"
            )
        lines.append("")
    return lines


def main(path: str, names: list[str]) -> None:
    metrics = experiments(json.loads(open(path).read()))
    missing = [n for n in names if n not in metrics]
    if missing:
        sys.exit(f"error: {path} has no metrics for {', '.join(missing)}")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    print("# The any-scale study: `studies/scales/run.sh`, then `studies/scales/scales_table.py`\n")
    cores, commits = len(os.sched_getaffinity(0)), baselines(json.loads(open(path).read()), names)
    print(f"Generated {when} on a {cores}-core {platform.machine()} CPU (baseline {commits}).")
    print("PSNR-Y in dB on clean bicubic LR: Y channel, border ceil(scale), 8-bit. x2, x3, x4:")
    print("dedicated models (model.scales [], prepare.scale 2, 3, 4); any: model.scales [1, 4],")
    print("told the scale by an embedding; any-channel: by an input plane (the default before);")
    print("any-film: by a scale and shift of every block's features (FiLM); any-int50, any-int100:")
    print("FiLM with half or all training patches at x2, x3 or x4 (train.integer_share; the rows")
    print("above: 0, every scale uniform in the range), evenly; -bias1, -bias2: x2 more often")
    print("(train.integer_bias 1: x2 46 %, x3 31 %, x4 23 % of them; 2: 59, 26, 15 %);")
    print("any-int50-bias2-p192 is the default model;")
    print("any-2to4: model.scales [2, 4], embedding; -seed7: train.seed 7 instead of 144;")
    print("-steps4500: 4,500 steps instead of 1,500 (the 10-minute budget of a training here);")
    print("-w48: model.width 48 instead of 32 (the same 1,500 steps); -p192: 192-pixel patches")
    print("instead of 128 (prepare.patch; 2.25x the pixels of a step). All else: the default")
    print("settings, but 128-pixel patches and integer_bias 0 where the name does not say -p192")
    print("or -bias. One budget: 1,500 steps of 8 patches (but -steps4500), equal per patch size.")
    print("'-': a scale that model does not take.\n")
    print("\n".join(table(metrics, names)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
