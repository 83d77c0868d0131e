"""A screenshot of the offline report as headless Chromium shows it with the network off.

    python -m tests.helpers.report_screenshot [--page report/index.html]
        --out docs/figures/report.png

The page (`make report` writes it) is opened 1000 px wide in the system's Chromium, which must
render every chart and image without an error; the top 1280 px are kept, downsized to 750 px wide
and saved as a 64-colour palette PNG.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

from srcore.common.atomic import atomic_write
from srcore.common.cli import call
from srcore.common.errors import UserError
from tests.helpers.chromium import find_chromium, open_offline, render_problems

WIDTH, TOP, SHOWN_WIDTH, COLOURS = 1000, 1280, 750, 64


def figure(full: Image.Image) -> Image.Image:
    """The top TOP px of a full-page screenshot (WIDTH px wide), SHOWN_WIDTH px wide, palette."""
    top = full.convert("RGB").crop((0, 0, full.width, min(TOP, full.height)))
    height = round(top.height * SHOWN_WIDTH / top.width)
    return top.resize((SHOWN_WIDTH, height), Image.LANCZOS).quantize(colors=COLOURS)


def shoot(args: argparse.Namespace) -> None:
    """Render --page offline, check it, write the figure to --out."""
    if not args.page.is_file():
        raise UserError(f"--page {args.page}: no such file (`make report` writes one)")
    if args.out.is_dir():
        raise UserError(f"--out {args.out}: a folder; give a .png file name")
    browser, why = find_chromium()
    if browser is None:
        raise UserError(why)
    with tempfile.TemporaryDirectory(prefix="srcore-shot-") as folder:
        full = Path(folder) / "full.png"
        problems = render_problems(open_offline(args.page, full, browser, width=WIDTH))
        if problems:
            raise UserError(f"{args.page} does not render offline: {problems[0]}")
        with Image.open(full) as shot:
            picture = figure(shot)
    with atomic_write(args.out) as tmp:
        picture.save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.out} ({picture.width}x{picture.height}, {COLOURS} colours)")


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and run; 2 for a user's mistake."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--page", type=Path, default=Path("report/index.html"), help="the report")
    ap.add_argument("--out", type=Path, required=True, help="the PNG to write")
    return call(shoot, ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
