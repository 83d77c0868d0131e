import shutil
import time

from tests.helpers import chromium as browser

SNAP_PLACEHOLDER = """#!/bin/sh
echo "Command '$0' requires the chromium snap to be installed."
exit 1
"""
# a child that would keep the pipe open if only sh were killed
HANGS = f"#!/bin/sh\n{shutil.which('sleep')} 30\n"
WORKS = '#!/bin/sh\necho "Chromium 150.0.7871.100 built on Debian GNU/Linux 12 (bookworm)"\n'


def install(folder, name: str, script: str) -> None:
    path = folder / name
    path.write_text(script)
    path.chmod(0o755)


def test_only_a_chromium_that_runs_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    path, why = browser.find_chromium()
    assert path is None and "no chromium or chromium-browser on PATH" in why
    install(tmp_path, "chromium-browser", SNAP_PLACEHOLDER)
    path, why = browser.find_chromium()
    assert path is None and "chromium-browser --version` failed (exit 1" in why and "snap" in why
    install(tmp_path, "chromium", HANGS)
    start = time.monotonic()
    path, why = browser.find_chromium(timeout=1)
    assert time.monotonic() - start < 10
    assert path is None and "gave no answer in 1 s" in why and "exit 1" in why, why
    install(tmp_path, "chromium", WORKS)
    assert browser.find_chromium() == (str(tmp_path / "chromium"), "")


def test_render_problems_name_what_failed():
    fine = {
        "errors": [],
        "requests": [],
        "views": [{"el": "#a", "marks": 3}],
        "canvases": [100],
        "images": [64],
    }
    assert browser.render_problems(fine) == []
    broken = {
        "errors": ["boom"],
        "requests": ["https://cdn.example/vega.js"],
        "views": [{"el": "#a", "marks": 0}, {"el": "#b", "error": "bad spec"}],
        "canvases": [100],
        "images": [0],
    }
    got = browser.render_problems(broken)
    for part in ("boom", "https://cdn.example/vega.js", "#a: no data marks", "#b: bad spec"):
        assert any(part in p for p in got), (part, got)
    assert any("canvases" in p for p in got) and any("images not loaded" in p for p in got)
