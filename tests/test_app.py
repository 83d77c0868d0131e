"""srcore-app: the page driven in headless Chromium (upload, scale 2.5 and clean-up 0.5, the slider
showing both sides, A/B, bad files and models, two tabs, nothing requested from elsewhere, no
console errors, a screenshot), and its API: downloads equal the Python API's pixels, cancel stops
the work, bad input is one line and the app goes on serving."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import srcore
from srcore.deploy.pictures import picture_to_array, read_picture
from tests.helpers.app import call, model_files, run_job, served, started, upload
from tests.helpers.browser import chromium, keep_screenshot
from tests.helpers.chromium import CHROMIUM_ARGS
from tests.helpers.images import deep_rgb, png_header_only, smooth_image


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Tiny models (knob, other, bad) and images: a photo, a broken file, a validation folder."""
    root = tmp_path_factory.mktemp("app")
    found = model_files(root / "models")
    Image.fromarray(smooth_image(40, 48)).save(root / "photo.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n and then nothing an image holds")
    (root / "valid").mkdir()
    Image.fromarray(smooth_image(36, 44, seed=2)).save(root / "valid" / "sample.png")
    return {**found, "root": root, "photo": root / "photo.png", "broken": root / "broken.png"}


# -- the page in Chromium --
def value(tab, selector: str, text: str) -> None:
    """Type into a number field as a user does (the page listens to change)."""
    tab.fill(selector, text)
    tab.dispatch_event(selector, "change")


def press_run(tab) -> None:
    tab.evaluate("document.getElementById('timing').removeAttribute('data-ms')")
    tab.click("#run")


def finished(tab) -> None:
    tab.wait_for_function(
        "document.getElementById('timing').dataset.ms || !document.getElementById('error').hidden",
        timeout=60_000,
    )
    assert tab.is_hidden("#error"), tab.inner_text("#error")


def view_at(tab, split: float) -> np.ndarray:
    """The before/after view with the divider at `split` percent, as the screen shows it."""
    tab.evaluate(f"setSplit({split})")
    return np.asarray(Image.open(io.BytesIO(tab.locator("#compare-view").screenshot())))


def assert_both_sides_show(tab) -> None:
    """Left of the divider the left image, right of it the right one, and they differ."""
    only_left, only_right, half = view_at(tab, 100), view_at(tab, 0), view_at(tab, 50)
    w = half.shape[1]
    rows = slice(40, None)  # below the name tags
    left, right = slice(0, w // 2 - 4), slice(w // 2 + 4, w)
    assert np.abs(half[rows, left].astype(int) - only_left[rows, left]).max() <= 2
    assert np.abs(half[rows, right].astype(int) - only_right[rows, right]).max() <= 2
    inner = slice(8, w - 8)  # away from the divider at either edge
    differ = np.abs(only_left[rows, inner].astype(int) - only_right[rows, inner]).mean()
    assert differ > 2, differ


def test_the_page_upscales_compares_and_survives_bad_input_offline(files, tmp_path):
    browser_path = chromium()
    from playwright.sync_api import sync_playwright

    models = [files["knob"], files["other"], files["bad"]]
    args = [*map(str, models), "--no-experiments", "--samples", str(files["root"] / "valid")]
    with started(args, files["root"]) as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        # the page's Content-Security-Policy refuses eval, which playwright's waits use
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        outside, errors = [], []

        def only_ours(route) -> None:
            url = route.request.url
            if url.startswith((base + "/", "data:", "blob:")):
                return route.continue_()
            outside.append(url)
            route.abort()

        context.route("**/*", only_ours)
        context.on("console", lambda m: m.type == "error" and errors.append(m.text))
        tab = context.new_page()
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{base}/")
        tab.wait_for_function("document.getElementById('model-note').textContent.includes('x1')")

        tab.set_input_files("#files", str(files["photo"]))
        tab.wait_for_selector("#inputs li.current")
        value(tab, "#scale-n", "2.5")
        value(tab, "#cleanup-n", "0.5")
        press_run(tab)
        finished(tab)
        sizes = tab.evaluate(
            "['left-img', 'right-img'].map(id => { const i = document.getElementById(id);"
            " return [i.complete, i.naturalWidth, i.naturalHeight]; })"
        )
        assert sizes == [[True, 120, 100], [True, 120, 100]]  # 48 x 40 at x2.5
        assert "clean-up 0.5" in tab.inner_text("#right-tag")
        assert "bicubic" in tab.inner_text("#left-tag")
        assert_both_sides_show(tab)
        zoomed = tab.evaluate(
            "['zoom-left', 'zoom-right'].map(id => Array.from(document.getElementById(id)"
            ".getContext('2d').getImageData(0, 0, 320, 320).data))"
        )
        assert all(np.asarray(z).reshape(-1, 4)[:, 3].min() == 255 for z in zoomed)  # drawn
        assert np.abs(np.asarray(zoomed[0]) - np.asarray(zoomed[1])).mean() > 0.5

        tab.select_option("#compare", str(files["other"]))  # A/B: B re-runs, A is kept
        press_run(tab)
        finished(tab)
        assert "other.pt" in tab.inner_text("#left-tag")
        assert "knob.pt" in tab.inner_text("#right-tag")
        assert "knob.pt kept" in tab.inner_text("#timing")
        assert_both_sides_show(tab)

        tab.set_input_files("#files", str(files["broken"]))
        tab.wait_for_selector("#error:not([hidden])")
        assert "broken.png" in tab.inner_text("#error")
        tab.select_option("#model", str(files["bad"]))
        tab.wait_for_function("document.getElementById('error').textContent.includes('bad.pt')")
        assert "not a plain weights file" in tab.inner_text("#error")
        tab.select_option("#model", str(files["knob"]))
        value(tab, "#scale-n", "5")
        press_run(tab)
        tab.wait_for_function("document.getElementById('error').textContent.includes('scale 5')")
        value(tab, "#scale-n", "2.5")

        tab.check("input[value=shrink]")  # shrink first: scores beside bicubic's
        tab.select_option("#compare", "bicubic")
        press_run(tab)
        finished(tab)
        scores = tab.eval_on_selector_all("#scores tbody tr", "rows => rows.map(r => r.innerText)")
        assert len(scores) == 2 and "bicubic" in scores[0] and "knob.pt" in scores[1], scores
        assert all(float(row.split()[-2]) > 10 for row in scores), scores

        other = context.new_page()  # two tabs at once
        other.on("pageerror", lambda e: errors.append(str(e)))
        other.goto(f"{base}/")
        other.wait_for_function("document.getElementById('sample').options.length === 2")
        other.select_option("#sample", "sample.png")
        other.wait_for_selector("#inputs li.current")
        press_run(tab)
        press_run(other)
        finished(tab)
        finished(other)
        assert other.evaluate("document.getElementById('right-img').naturalWidth") == 176

        strict = browser.new_context()  # the page's own Content-Security-Policy in force
        strict.route("**/*", only_ours)
        strict.on("console", lambda m: m.type == "error" and errors.append(m.text))
        plain = strict.new_page()
        plain.goto(f"{base}/")
        plain.wait_for_selector("#model-note:not(:empty)")
        plain.set_input_files("#files", str(files["photo"]))
        plain.wait_for_selector("#inputs li.current")
        plain.click("#run")
        plain.wait_for_selector("#timing[data-ms]")

        shot = tmp_path / "app.png"
        tab.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}; copied to {keep_screenshot(shot, 'app.png')}")
        browser.close()
    assert outside == [] and errors == [], (outside, errors)


# -- the API --
def test_a_download_is_what_the_python_api_returns(files, tmp_path):
    picture = tmp_path / "deep_alpha.png"
    cv2.imwrite(str(picture), deep_rgb(30, 34, alpha=True)[..., [2, 1, 0, 3]])
    with served([files["knob"]], tmp_path / "scratch") as base:
        status, given = upload(base, picture)
        assert status == 200 and given["bits"] == 16 and given["alpha"], given
        request = {"scale": 2.5, "cleanup": 0.5, "seed": 3, "steps": 2, "tile": 64}
        done = run_job(base, source=given["id"], model=str(files["knob"]), **request)
        assert done["state"] == "done", done["error"]
        status, body = call(f"{base}/api/results/{done['sides']['right']['id']}/file")
    assert status == 200
    saved = tmp_path / "download.png"
    saved.write_bytes(body)
    got = picture_to_array(read_picture(saved))
    up = srcore.Upscaler.load(files["knob"], device="cpu")
    expected = up.upscale(picture, **request)
    assert got.dtype == np.uint16 and got.shape == (75, 85, 4)
    assert np.array_equal(got, expected)


def test_a_grey_photo_shows_the_pixels_its_download_holds(files, tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(smooth_image(30, 34)).convert("L").save(grey)
    with served([files["other"]], tmp_path / "scratch") as base:
        _, given = upload(base, grey)
        done = run_job(base, source=given["id"], model=str(files["other"]), scale=2)
        right = done["sides"]["right"]["id"]
        _, shown = call(f"{base}/api/results/{right}.png")
        _, saved = call(f"{base}/api/results/{right}/file")
    preview, file = Image.open(io.BytesIO(shown)), Image.open(io.BytesIO(saved))
    assert preview.mode == file.mode == "L" and np.array_equal(np.asarray(preview), file)


def test_shrink_first_with_real_makes_a_new_lr_for_a_new_seed(files, tmp_path):
    with served([files["knob"]], tmp_path / "scratch") as base:
        _, given = upload(base, files["photo"])
        shrink = {"source": given["id"], "model": str(files["knob"]), "mode": "shrink"}
        first, again, other = (
            run_job(base, **shrink, degradation="real", scale=2, seed=seed) for seed in (1, 1, 2)
        )
        clean = run_job(base, **shrink, scale=2, seed=2)
    assert again["sides"]["left"]["cached"] and again["sides"]["right"]["cached"]
    assert not other["sides"]["left"]["cached"]  # bicubic of another LR
    assert other["sides"]["left"]["scores"] != first["sides"]["left"]["scores"]
    assert clean["sides"]["left"]["scores"]["psnr_y"] > first["sides"]["left"]["scores"]["psnr_y"]


def test_cancel_stops_at_the_next_tile_and_the_app_goes_on(files, tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(smooth_image(160, 160)).save(big)
    with served([files["knob"]], tmp_path / "scratch") as base:
        _, given = upload(base, big)
        settings = {"source": given["id"], "model": str(files["knob"]), "scale": 4, "tile": 64}
        _, job = call(f"{base}/api/jobs", json.dumps(settings).encode())
        version, status = -1, {}
        while "tile" not in status.get("stage", ""):
            _, status = call(f"{base}/api/jobs/{job['job']}?after={version}")
            version = status["version"]
            assert status["state"] == "running", status
        call(f"{base}/api/jobs/{job['job']}/cancel", b"")
        while status["state"] == "running":
            _, status = call(f"{base}/api/jobs/{job['job']}?after={status['version']}")
        assert status["state"] == "cancelled" and status["fraction"] < 0.5, status
        done = run_job(base, source=given["id"], model=str(files["knob"]), scale=2)
        assert done["state"] == "done" and done["sides"]["right"]["width"] == 320


def test_bad_input_is_one_line_and_the_app_goes_on(files, tmp_path):
    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, 40000, 40000)
    with served([files["knob"], files["bad"]], tmp_path / "scratch") as base:
        for path, words in ((bomb, "bomb.png: refused"), (files["broken"], "broken.png: cannot")):
            status, answer = upload(base, path)
            assert status == 200 and answer["error"].startswith(words), answer
            assert str(tmp_path) not in answer["error"]  # the user's name, not the app's copy
        status, answer = call(f"{base}/api/models/{files['bad']}")
        assert status == 200 and "bad.pt" in answer["error"] and "\n" not in answer["error"]
        for body, words in ((b"{", "not JSON"), (b'{"colour": 1}', "colour: not a setting")):
            status, answer = call(f"{base}/api/jobs", body)
            assert status == 200 and words in answer["error"], answer
        _, given = upload(base, files["photo"])
        failed = run_job(base, source=given["id"], model=str(files["bad"]))
        assert failed["state"] == "failed" and "bad.pt" in failed["error"], failed
        status, _ = call(f"{base}/", headers={"Host": "rebound.example"})
        assert status == 403  # a page elsewhere pointing its own name at 127.0.0.1
        status, _ = call(f"{base}/api/inputs", b"x", {"Sec-Fetch-Site": "cross-site"})
        assert status == 403  # a form on another site posting here
        _, answer = call(f"{base}/api/models?colour=1")
        assert answer["error"].startswith("?colour=: not a query of this address"), answer
        assert oversized_upload(base).endswith("big.png: 300000000 bytes, allowed up to 256 MiB")
        done = run_job(base, source=given["id"], model=str(files["knob"]), scale=2)
        assert done["state"] == "done"


def oversized_upload(base: str) -> str:
    """The error answered to an upload whose declared length is over the limit (the body is
    never sent): the answer closes the connection, so no unread body is taken for a request."""
    port = int(base.rsplit(":", 1)[1])
    head = "POST /api/inputs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: big.png\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"{head}Content-Length: 300000000\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):  # until the server closes
            answer += chunk
    headers, body = answer.split(b"\r\n\r\n", 1)
    assert b"Connection: close" in headers, headers
    return json.loads(body)["error"]


def test_two_requests_at_once_are_both_served(files, tmp_path):
    with served([files["knob"]], tmp_path / "scratch") as base:
        _, given = upload(base, files["photo"])
        ends = {}

        def one(seed: int) -> None:
            ends[seed] = run_job(base, source=given["id"], model=str(files["knob"]), seed=seed)

        threads = [threading.Thread(target=one, args=(s,)) for s in (1, 2)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert time.monotonic() - start < 60
        assert [ends[s]["state"] for s in (1, 2)] == ["done", "done"]
        ids = {ends[s]["sides"]["right"]["id"] for s in (1, 2)}
        assert len(ids) == 2  # each its own seed


def test_an_onnx_graph_is_offered_with_what_it_runs(files, exported, tmp_path):
    _, graph = exported
    with served([graph], tmp_path / "scratch") as base:
        _, card = call(f"{base}/api/models/{graph}")
        assert card["onnx"] and card["scales"] == [4.0, 4.0] and not card["cleanup"], card
        _, given = upload(base, files["photo"])
        done = run_job(base, source=given["id"], model=str(graph), cleanup=0.5, tile=0)
        assert done["state"] == "done" and done["sides"]["right"]["width"] == 192, done
        refused = run_job(base, source=given["id"], model=str(graph), steps=2)
        assert refused["state"] == "failed" and refused["error"].startswith(f"model {graph}")
        assert "steps 2" in refused["error"], refused


def test_the_command_says_in_one_line_what_keeps_it_from_serving(tmp_path, capsys):
    from srcore.commands.app import main

    assert main([str(tmp_path / "missing.pt"), "--no-experiments"]) == 2
    assert (
        capsys.readouterr().err.strip() == f"error: {tmp_path / 'missing.pt'}: no such model file"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port), "--no-experiments", "--samples", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --host 127.0.0.1 --port {port}: ") and "\n" not in err, err
