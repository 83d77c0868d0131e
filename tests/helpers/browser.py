"""Headless Chromium (the system's, driven by playwright) opening a page with the network off."""

import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


def chromium() -> str:
    """The system's Chromium, or skip with the reason."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no Chromium on PATH (apt-get install chromium; .ci/run installs it as root)")
    return found


def open_offline(page: Path, screenshot: Path, browser_path: str) -> dict:
    """Open page in headless Chromium with the network off: every non-file request is aborted and
    recorded. Returns the views of its charts, its images' widths, console and page errors and the
    attempted requests; writes a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    seen = {"requests": [], "errors": []}
    local = ("file:", "data:")

    def record(request):
        if not request.url.startswith(local):
            seen["requests"].append(request.url)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            context.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(local) else r.abort()
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


def assert_renders(page: Path, screenshot: Path, browser: str, charts: int, images: int) -> dict:
    """Every chart of page became a vega view with data marks, every image loaded, nothing was
    logged as an error and nothing was requested from the network."""
    seen = open_offline(page, screenshot, browser)
    print(f"screenshot: {screenshot}")
    assert seen["errors"] == [] and seen["requests"] == [], seen
    assert len(seen["views"]) == charts, seen["views"]
    assert all(v.get("marks", 0) > 0 for v in seen["views"]), seen["views"]
    assert len(seen["canvases"]) == charts and all(seen["canvases"]), seen["canvases"]
    assert len(seen["images"]) == images and all(seen["images"]), seen["images"]
    return {view["el"].removeprefix("#"): view["marks"] for view in seen["views"]}
