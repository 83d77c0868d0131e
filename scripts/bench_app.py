"""What srcore-app adds to an upscale, against srcore-upscale on the same photo.

    python scripts/bench_app.py [--model models/model.pt] [--photo PATH] [--size 480x320]
                                [--runs 3] [--out docs/bench/bench_app.json]

One photo (--photo, default the first validation image of data/raw/valid that is large enough,
centre-cropped to --size)
is enlarged at the model's scale with the default options, each run with its own seed (the app
keeps results; a new seed is new work):

    cli_process_s   srcore-upscale as a fresh process, as a user runs it (loads the model each time)
    cli_image_s     the seconds it reports for the image: read, upscale, write the PNG
    api_s           srcore.Upscaler.upscale_picture alone, in this process (the floor)
    app_http_s      the app with the model warm, over HTTP: upload, run, both previews fetched
    app_page_s      the app in headless Chromium: from pressing Upscale to both sides on screen
                    (the page's own clock; the image already given), when Chromium is here

Medians of `runs` (under "fastest", the quickest of each); app_*_over_cli_image_s is the time the
app adds to the CLI's image (negative: it is quicker), app_*_over_api_s what it adds to the bare
API call.
Without --model (or when the file is missing) a network of the default configuration with random
weights stands in: the cost is the same. Prints and writes one JSON object.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.bench_api import machine, model_file, run_and_write  # noqa: E402
from srcore.common.images import list_images  # noqa: E402
from srcore.deploy.pictures import read_picture  # noqa: E402
from srcore.deploy.upscaler import Upscaler  # noqa: E402
from tests.helpers.app import run_job, started, upload  # noqa: E402
from tests.helpers.chromium import CHROMIUM_ARGS, find_chromium  # noqa: E402


def photo_file(args: argparse.Namespace, tmp: Path) -> tuple[Path, str]:
    """The photo to enlarge (a PNG of --size) and where it came from."""
    width, height = (int(v) for v in args.size.split("x"))
    source = args.photo
    if source is None and Path("data/raw/valid").is_dir():  # the first one large enough
        found = list_images("data/raw/valid")
        large = [p for p in found if min(Image.open(p).size) >= min(width, height)]
        source = (large or found)[0]
    if source is None:
        rng = np.random.default_rng(0)
        im, what = Image.fromarray(rng.integers(0, 256, (height, width, 3), np.uint8)), "noise"
    else:
        im, what = Image.open(source).convert("RGB"), str(source)
        k = max(width / im.width, height / im.height)
        if k > 1:
            im = im.resize((round(im.width * k), round(im.height * k)), Image.BICUBIC)
        left, top = (im.width - width) // 2, (im.height - height) // 2
        im = im.crop((left, top, left + width, top + height))
    path = tmp / "photo.png"
    im.save(path)
    return path, what


def time_cli(model: Path, photo: Path, runs: int, tmp: Path) -> tuple[list[float], list[float]]:
    """(process seconds, the image seconds it reports) of `runs` srcore-upscale runs."""
    process, image = [], []
    for i in range(runs):
        cmd = [sys.executable, "-m", "srcore.commands.upscale", str(photo), "-o", str(tmp / "cli")]
        t0 = time.perf_counter()
        done = subprocess.run(
            [*cmd, "--model", str(model), "--device", "cpu", "--seed", str(i)],
            check=True,
            capture_output=True,
            text=True,
        )
        process.append(time.perf_counter() - t0)
        image.append(float(re.search(r"in ([0-9.]+)s", done.stdout).group(1)))
    return process, image


def time_api(model: Path, photo: Path, runs: int) -> list[float]:
    up = Upscaler.load(model, device="cpu")
    picture = read_picture(photo)
    up.upscale_picture(picture)  # warm-up: the first call builds the DCT matrices
    seconds = []
    for i in range(runs):
        t0 = time.perf_counter()
        up.upscale_picture(picture, up.defaults.updated(seed=100 + i))
        seconds.append(time.perf_counter() - t0)
    return seconds


def time_http(base: str, model: str, photo: Path, runs: int) -> list[float]:
    from tests.helpers.app import call

    _, given = upload(base, photo)
    run_job(base, source=given["id"], model=model, seed=200)  # warm: the model is loaded
    seconds = []
    for i in range(runs):
        t0 = time.perf_counter()
        _, given = upload(base, photo)
        done = run_job(base, source=given["id"], model=model, seed=300 + i)
        for side in ("left", "right"):
            call(f"{base}/api/results/{done['sides'][side]['id']}.png")
        seconds.append(time.perf_counter() - t0)
    return seconds


def time_page(base: str, photo: Path, runs: int) -> list[float] | None:
    """Seconds from pressing Upscale to both sides shown, by the page's clock; None without
    Chromium."""
    browser_path, _ = find_chromium()
    if browser_path is None:
        return None
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        tab = browser.new_context(bypass_csp=True).new_page()
        tab.goto(f"{base}/")
        tab.wait_for_function("document.getElementById('model-note').textContent !== ''")
        tab.set_input_files("#files", str(photo))
        tab.wait_for_selector("#inputs li.current")
        for i in range(runs + 1):  # the first warms the page's images
            tab.fill("#seed", str(400 + i))
            tab.evaluate("document.getElementById('timing').removeAttribute('data-ms')")
            tab.click("#run")
            tab.wait_for_function("document.getElementById('timing').dataset.ms", timeout=300_000)
            if i:
                seconds.append(int(tab.get_attribute("#timing", "data-ms")) / 1000)
        browser.close()
    return seconds


def bench(args: argparse.Namespace, tmp: Path) -> dict:
    model, what = model_file(args.model, tmp)
    photo, photo_what = photo_file(args, tmp)
    cli_process, cli_image = time_cli(model, photo, args.runs, tmp)
    api = time_api(model, photo, args.runs)
    with started([str(model), "--no-experiments"], Path.cwd()) as (base, _):
        http = time_http(base, str(model), photo, args.runs)
        page = time_page(base, photo, args.runs)
    med = lambda xs: round(statistics.median(xs), 3) if xs else None
    low = lambda xs: round(min(xs), 3) if xs else None
    record = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "model": what,
        "photo": f"{photo_what}, {args.size} -> x{Upscaler.load(model, 'cpu').scale:g}",
        "runs": args.runs,
        "cli_process_s": med(cli_process),
        "cli_image_s": med(cli_image),
        "api_s": med(api),
        "app_http_s": med(http),
        "app_page_s": med(page),
        "fastest": {  # the quickest run of each: this machine's noise is +-0.3 s
            "cli_image_s": low(cli_image),
            "api_s": low(api),
            "app_http_s": low(http),
            "app_page_s": low(page),
        },
    }
    for key in ("app_http_s", "app_page_s"):
        if record[key] is not None:
            record[f"{key[:-2]}_over_cli_image_s"] = round(record[key] - record["cli_image_s"], 3)
            record[f"{key[:-2]}_over_api_s"] = round(record[key] - record["api_s"], 3)
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--photo", type=Path)
    ap.add_argument("--size", default="480x320")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("docs/bench/bench_app.json"))
    run_and_write(bench, ap.parse_args())


if __name__ == "__main__":
    main()
