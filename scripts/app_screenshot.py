"""The README's picture of srcore-app: the page in headless Chromium after one run.

    python scripts/app_screenshot.py [--model models/model.pt] [--image chelsea.png]
                                     [--out docs/figures/app.png]

Starts srcore-app on a free port with the model, picks a validation image (data/raw/valid) in
"shrink first" mode at x4, runs it against bicubic, points the linked zoom at the image's centre
and writes a screenshot of the page (a 256-colour PNG, small enough for git), its date in the header
beside the machine the page names.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import date
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.app import started  # noqa: E402
from tests.helpers.chromium import CHROMIUM_ARGS, find_chromium  # noqa: E402


def shoot(model: Path, image: str, zoom: tuple[float, float]) -> bytes:
    """The page's PNG after one shrink-first run of `image` against bicubic."""
    browser_path, why = find_chromium()
    if browser_path is None:
        raise SystemExit(f"no Chromium: {why}")
    from playwright.sync_api import sync_playwright

    with (
        started([str(model), "--no-experiments"], Path.cwd()) as (base, _),
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
        tab = context.new_page()
        tab.goto(f"{base}/")
        tab.wait_for_function("document.getElementById('model-note').textContent !== ''")
        tab.select_option("#sample", image)
        tab.wait_for_selector("#inputs li.current")
        tab.check("input[value=shrink]")
        tab.click("#run")
        tab.wait_for_function("document.getElementById('timing').dataset.ms", timeout=600_000)
        box = tab.locator("#compare-view").bounding_box()
        tab.mouse.move(box["x"] + zoom[0] * box["width"], box["y"] + zoom[1] * box["height"])
        tab.evaluate("setSplit(50)")
        today = date.today().isoformat()
        tab.evaluate(f"document.getElementById('device').textContent += ' · {today}'")
        shot = tab.screenshot(full_page=True)
        browser.close()
    return shot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/model.pt"))
    ap.add_argument("--image", default="chelsea.png", help="a validation image's file name")
    ap.add_argument("--zoom", default="0.45,0.4", help="where the zoom looks, as fractions")
    ap.add_argument("--out", type=Path, default=Path("docs/figures/app.png"))
    args = ap.parse_args()
    zoom = tuple(float(v) for v in args.zoom.split(","))
    page = Image.open(io.BytesIO(shoot(args.model, args.image, zoom))).convert("RGB")
    page.quantize(256, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {page.width}x{page.height})")


if __name__ == "__main__":
    main()
