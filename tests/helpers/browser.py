"""The browser tests' Chromium: the system's Chromium (or a skip saying why none can run) opening a
page with the network off (tests/helpers/chromium.py), and where its screenshot is kept."""

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.chromium import find_chromium, open_offline, render_problems

ARTIFACTS = "SRCORE_ARTIFACTS"  # a folder CI keeps: the report test copies its screenshot there


def chromium() -> str:
    """The system's Chromium, if one runs; otherwise skip with the reason (none on PATH, or one
    that does not answer `--version`, such as Ubuntu's snap placeholder)."""
    path, why = find_chromium()
    if path is None:
        pytest.skip(f"{why}; .ci/run installs Chromium where it can")
    return path


def keep_screenshot(shot: Path, name: str = "report.png") -> Path | None:
    """Copy shot to $SRCORE_ARTIFACTS/<name> when that variable is set; returns the copy."""
    folder = os.environ.get(ARTIFACTS)
    if not folder:
        return None
    dst = Path(folder) / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, dst)
    return dst


def assert_renders(page: Path, screenshot: Path, browser: str, charts: int, images: int) -> dict:
    """Every chart of page became a vega view with data marks, every image loaded, nothing was
    logged as an error and nothing was requested from the network. Returns {chart id: marks}."""
    seen = open_offline(page, screenshot, browser)
    print(f"screenshot: {screenshot}")
    kept = keep_screenshot(screenshot)
    if kept:
        print(f"screenshot copied to {kept}")
    assert render_problems(seen) == [], seen
    assert len(seen["views"]) == charts, seen["views"]
    assert len(seen["images"]) == images, seen["images"]
    return {view["el"].removeprefix("#"): view["marks"] for view in seen["views"]}
