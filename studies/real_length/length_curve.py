"""The photo recipe's gain on degraded LR over training length, against a target.

    python studies/real_length/length_curve.py [--table studies/real_data/table.md]
        [--table studies/real_length/table.md] [--target 1.0] [--budget 3000]
        [--out docs/figures/length_curve.png] [--json studies/real_length/length_curve.json]

Reads the committed `dvc exp show --md` tables of the studies (their knob-sun* and clean-sun*
rows, seed 144: the clean-up knob on the lighter antialiased preset, and the clean model, trained
on Sun_Hays80 for train.steps) and, per scored set, the knob model's gain over bicubic of the
degraded LR at each length. The JSON holds the points and, between neighbouring lengths, the dB
that a doubling of the steps added; the figure draws both models against the steps (log axis),
with the --target gain and the 10-minute budget's --budget steps.
"""

import argparse
import re
from pathlib import Path

import numpy as np

from srcore.common.atomic import write_json
from srcore.common.cli import run
from srcore.common.errors import UserError
from srcore.report import figures

SETS = {
    "validation images": "real.psnr_y_gain",
    "Set5": "real.Set5.psnr_y_gain",
    "Set14": "real.Set14.psnr_y_gain",
}
ROW = re.compile(r"^(knob|clean)-sun(-\d+)?$")  # seed 144 at train.lr 0.001 only


def read_rows(path: Path) -> list[dict]:
    """The rows of a `dvc exp show --md` table as {column: text}, the experiment in 'name'."""
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
    if len(lines) < 3:
        raise UserError(f"{path}: no markdown table found")
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        row = dict(zip(head, (c.strip() for c in line.strip("|").split("|"))))
        found = re.search(r"\[(.+)\]", row.get("Experiment", ""))
        rows.append({**row, "name": found.group(1) if found else ""})
    return rows


def points(tables: list[Path]) -> dict:
    """{model: {set: [(steps, gain), ...] by steps}} of the knob-sun* and clean-sun* rows."""
    found: dict = {"knob": {s: [] for s in SETS}, "clean": {s: [] for s in SETS}}
    for path in tables:
        for row in read_rows(path):
            matched = ROW.match(row["name"])
            if matched is None:
                continue
            for name, column in SETS.items():
                steps, gain = number(row, "train.steps", path), number(row, column, path)
                found[matched.group(1)][name].append((int(steps), gain))
    for model, by_set in found.items():
        for name in by_set:
            by_set[name].sort()
        steps = [s for s, _ in by_set["Set5"]]
        if len(set(steps)) < len(steps):
            raise UserError(f"two {model}-sun rows at the same train.steps in {steps}")
    if len(found["knob"]["Set5"]) < 2:
        raise UserError("fewer than two knob-sun rows in the tables: no curve to draw")
    return found


def number(row: dict, column: str, path: Path) -> float:
    """One cell of a row as a number; a missing column or a failed run's '-' is refused."""
    if column not in row:
        raise UserError(f"{path}: no {column} column")
    try:
        return float(row[column])
    except ValueError:
        raise UserError(
            f"{path}: {row['name']}: {column} is {row[column]!r}, not a number"
        ) from None


def per_doubling(steps_gains: list[tuple[int, float]]) -> list[dict]:
    """Between neighbouring lengths: the gain added per doubling of the steps (dB)."""
    pairs = zip(steps_gains, steps_gains[1:])
    return [
        {"from": s0, "to": s1, "db_per_doubling": round((g1 - g0) / float(np.log2(s1 / s0)), 5)}
        for (s0, g0), (s1, g1) in pairs
    ]


def plot(found: dict, target: float, budget: int) -> figures.plt.Figure:
    """One panel: the gain on degraded LR over steps (log axis), a colour per set."""
    fig, ax = figures.plt.subplots(figsize=(8.5, 4.2))
    for i, name in enumerate(SETS):
        color = f"C{i}"
        ax.plot(*zip(*found["knob"][name]), "o-", color=color, label=f"{name}: clean-up knob")
        if found["clean"][name]:
            ax.plot(*zip(*found["clean"][name]), "x--", color=color, label=f"{name}: clean model")
    ax.axhline(target, color="grey", ls=":", label=f"target +{target:g} dB")
    ax.axvline(budget, color="grey", lw=0.8, label=f"the budget ({budget:,} steps)")
    ax.set_xscale("log", base=2)
    ticks = sorted({s for by_set in found.values() for pts in by_set.values() for s, _ in pts})
    ax.set_xticks(ticks, [f"{s:,}" for s in ticks])
    ax.minorticks_off()
    ax.set_xlabel("training steps (log scale)")
    ax.set_ylabel("PSNR-Y gain over bicubic, degraded LR (dB)")
    ax.set_title("The photo recipe on its degraded LR, by training length (Sun_Hays80, x4)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def main() -> None:
    """Parse the options, read the tables, write the JSON and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    tables = [Path("studies/real_data/table.md"), Path("studies/real_length/table.md")]
    ap.add_argument("--table", type=Path, action="append", help="a study table (default: both)")
    ap.add_argument("--target", type=float, default=1.0, help="the gain aimed at (dB)")
    ap.add_argument("--budget", type=int, default=3000, help="the steps 10 minutes allow")
    ap.add_argument("--out", type=Path, default=Path("docs/figures/length_curve.png"))
    ap.add_argument("--json", type=Path, default=Path("studies/real_length/length_curve.json"))
    args = ap.parse_args()
    for path in args.table or tables:
        if not path.is_file():
            raise UserError(f"--table {path}: no such file")
    found = points(args.table or tables)
    steps = {name: per_doubling(found["knob"][name]) for name in SETS}
    write_json(args.json, {"points": found, "knob_per_doubling": steps, "target": args.target})
    figures.save(plot(found, args.target, args.budget), args.out)
    print(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    run(main)
