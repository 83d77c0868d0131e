"""Checks that every DVC report renders: the Vega specs `dvc plots show` builds and what `dvc
metrics show` lists. Functions, run by the end-to-end test on its pipeline (tests/test_pipeline.py).
"""

import json
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REQUIRED_METRIC_KEYS
from tests.helpers.dvc_repo import run

GAIN_PLOT = "metrics/per_image.csv"
CURVES = "dvclive/plots/metrics/"
CURVE_FILES = {"train/loss.tsv", "train/lr.tsv", "val/psnr_y.tsv"}
IMAGE_PLOTS = {"chain.png", "gain.png", "training.png"}
CATEGORY_TYPES = {"nominal", "ordinal"}
LIVE_KEYS = {"step", "train.loss", "train.lr", "val.psnr_y"}


def plots_json(repo: Path, env: dict) -> dict[str, list[dict]]:
    """{plot target: rendered items} from `dvc plots show --json`, which must report no error."""
    shown = json.loads(run("dvc plots show --json", repo, env))
    assert not shown.get("errors"), shown["errors"]
    return shown["data"]


def encodings(spec: dict) -> Iterator[dict]:
    """Every `encoding` block of a Vega-Lite spec, its layers' included."""
    if isinstance(spec.get("encoding"), dict):
        yield spec["encoding"]
    for part in spec.get("layer", []):
        yield from encodings(part)


def vega_spec(items: list[dict], target: str) -> dict:
    assert len(items) == 1 and items[0]["type"] == "vega", f"{target}: not one Vega plot: {items}"
    return items[0]["content"]


def assert_vega_field_types(repo: Path, env: dict) -> None:
    """The rendered plots of a repository whose pipeline ran: image names on the category axis of
    the gain
    bars with the gain on the numeric axis, training curves over a numeric step, and the stage's
    images."""
    data = plots_json(repo, env)

    gain = vega_spec(data.get(GAIN_PLOT, []), GAIN_PLOT)
    mark = gain["mark"]["type"] if isinstance(gain["mark"], dict) else gain["mark"]
    assert mark == "bar", f"{GAIN_PLOT}: mark {mark}"
    enc = gain["encoding"]
    axis = {enc[c]["field"]: c for c in ("x", "y")}
    assert set(axis) == {"image", "psnr_y_gain"}, f"{GAIN_PLOT}: fields {axis}"
    image, value = enc[axis["image"]], enc[axis["psnr_y_gain"]]
    assert image["type"] in CATEGORY_TYPES, f"{GAIN_PLOT}: image on a {image['type']} axis"
    assert value["type"] == "quantitative", f"{GAIN_PLOT}: psnr_y_gain on a {value['type']} axis"
    names = {row["image"] for row in gain["data"]["values"]}
    assert names and all(n.endswith(".png") for n in names), names

    curves = {t.removeprefix(CURVES): items for t, items in data.items() if t.startswith(CURVES)}
    assert CURVE_FILES <= set(curves), f"training curves missing: {CURVE_FILES - set(curves)}"
    for name, items in curves.items():
        spec = vega_spec(items, name)
        channels = [(c, e[c]) for e in encodings(spec) for c in ("x", "y") if c in e]
        xs = [e for c, e in channels if c == "x"]
        assert xs and all(e["field"] == "step" and e["type"] == "quantitative" for e in xs), (
            f"{name}: x {xs}"
        )
        metric = Path(name).stem
        ys = [e for c, e in channels if c == "y"]
        assert ys and all(e["field"] == metric and e["type"] == "quantitative" for e in ys), (
            f"{name}: y {ys}"
        )

    images = {
        Path(t).name
        for t, items in data.items()
        if t.startswith("plots/") and items[0]["type"] == "image"
    }
    assert IMAGE_PLOTS <= images and any(n.startswith("compare_") for n in images), images


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def assert_metrics_listed(repo: Path, env: dict) -> None:
    """`dvc metrics show` lists the evaluation metrics and the DVCLive training summary."""
    shown = json.loads(run("dvc metrics show --json", repo, env))[""]
    assert not shown.get("error"), shown["error"]
    files = {path: flatten(v.get("data", {})) for path, v in shown["data"].items()}
    assert {"metrics/metrics.json", "dvclive/metrics.json"} <= set(files), set(files)
    assert REQUIRED_METRIC_KEYS <= set(files["metrics/metrics.json"]), REQUIRED_METRIC_KEYS - set(
        files["metrics/metrics.json"]
    )
    assert LIVE_KEYS <= set(files["dvclive/metrics.json"]), LIVE_KEYS - set(
        files["dvclive/metrics.json"]
    )
    table = run("dvc metrics show", repo, env)  # the table a user reads
    assert "dvclive/metrics.json" in table and "train.loss" in table and "psnr_y_gain" in table
