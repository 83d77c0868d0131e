"""A local HTML page opened in the system's headless Chromium (driven by playwright), offline.

Used to check that the offline report renders (its test) and to take its screenshot for the docs
(tests/helpers/report_screenshot.py). Only local file: and data: URLs load; anything else is aborted
and recorded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from srcore.common.errors import UserError

BROWSERS = ("chromium", "chromium-browser")
VERSION_LINE = re.compile(r"\b(?:Chromium|Chrome)\s+\d+\.")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL = ("file:", "data:")
# Wraps the page's vegaEmbed as the library defines it, to collect every embed's view: the data
# marks (role "mark") of its scenegraph, or the error it failed with.
COLLECT_VIEWS = """
(() => {
  window.__views = [];
  const own = (node) => (node.role === 'mark' && node.marktype !== 'group' ? node.items.length : 0);
  const marks = (node) => own(node) + (node.items || []).reduce((n, c) => n + marks(c), 0);
  let wrapped;
  Object.defineProperty(window, 'vegaEmbed', {
    configurable: true,
    get: () => wrapped,
    set: (embed) => {
      wrapped = Object.assign(function (el, spec, opts) {
        const done = embed(el, spec, opts);
        window.__views.push(done.then(
          async (res) => {
            await res.view.runAsync();
            return {el, marks: marks(res.view.scenegraph().root)};
          },
          (err) => ({el, error: String(err)})));
        return done;
      }, embed);
    },
  });
})();
"""
RENDERED = """() => Promise.race([Promise.all(window.__views), new Promise((_, fail) =>
  setTimeout(() => fail(new Error('no chart rendered in 60 s')), 60000))])"""


def version_problem(path: str, timeout: float) -> str | None:
    """None when `path --version` prints a Chromium version within timeout seconds, else why not.

    The whole process group is killed on timeout: a wrapper script's child would keep the pipe open.
    """
    try:
        proc = subprocess.Popen(
            [path, "--version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
    except OSError as e:
        return f"{path} does not start ({e.strerror})"
    with proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return f"`{path} --version` gave no answer in {timeout:g} s"
    if proc.returncode != 0 or not VERSION_LINE.search(out):
        said = out.strip().splitlines()[0][:80] if out.strip() else "nothing"
        return f"`{path} --version` failed (exit {proc.returncode}, printed {said!r})"
    return None


def find_chromium(timeout: float = 10.0) -> tuple[str | None, str]:
    """(path, "") of the first Chromium on PATH that runs, else (None, the reason for each found).

    Ubuntu's chromium-browser package can be a placeholder for a snap: it is on PATH but cannot
    launch a browser, so each candidate must answer `--version` in time.
    """
    problems = []
    for name in BROWSERS:
        path = shutil.which(name)
        if path is None:
            continue
        problem = version_problem(path, timeout)
        if problem is None:
            return path, ""
        problems.append(problem)
    if not problems:
        return None, "no chromium or chromium-browser on PATH (`apt-get install chromium` as root)"
    return None, "; ".join(problems) + " (a snap placeholder cannot run here: install chromium)"


def open_offline(page: Path, screenshot: Path, browser_path: str, width: int = 1280) -> dict:
    """Open page in headless Chromium (viewport width px wide) with the network off; write a
    full-page screenshot.

    Returns {"views": [{el, marks} or {el, error}] per chart, "canvases": [pixels per chart
    canvas], "images": [natural width per <img>, 0 if not loaded], "errors": console and page
    errors, "requests": URLs asked for that are not file: or data:}.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError("playwright is not installed: `make install` installs it") from None
    seen = {"requests": [], "errors": []}

    def record(request):
        if not request.url.startswith(LOCAL):
            seen["requests"].append(request.url)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": 720})
            context.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else r.abort()
            )
            context.add_init_script(COLLECT_VIEWS)
            tab = context.new_page()
            tab.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
            tab.on("pageerror", lambda e: seen["errors"].append(str(e)))
            tab.on("request", record)
            tab.goto(page.resolve().as_uri(), wait_until="load")
            seen["views"] = tab.evaluate(RENDERED)
            seen["canvases"] = tab.eval_on_selector_all(
                ".vega-embed canvas", "els => els.map(c => c.width * c.height)"
            )
            seen["images"] = tab.eval_on_selector_all(
                "img", "els => els.map(i => i.complete ? i.naturalWidth : 0)"
            )
            tab.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def render_problems(seen: dict) -> list[str]:
    """What went wrong in an open_offline result: errors, network requests, charts without data
    marks or without a drawn canvas, images that did not load. [] when the page rendered."""
    problems = [f"error: {e}" for e in seen["errors"]]
    problems += [f"network request: {url}" for url in seen["requests"]]
    for view in seen["views"]:
        if "error" in view or view.get("marks", 0) == 0:
            problems.append(f"chart {view['el']}: {view.get('error', 'no data marks')}")
    if len(seen["canvases"]) != len(seen["views"]) or not all(seen["canvases"]):
        problems.append(f"chart canvases {seen['canvases']} for {len(seen['views'])} chart(s)")
    if not all(seen["images"]):
        problems.append(f"images not loaded: widths {seen['images']}")
    return problems
