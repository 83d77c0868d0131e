import base64
import hashlib
import http.server
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srcore import report
from srcore.errors import UserError
from tests.conftest import REPO
from tests.helpers.browser import assert_renders, chromium


def tarball(files: dict[str, bytes]) -> bytes:
    """A .tgz holding files ({path: content}), as `npm pack` makes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeRegistry(http.server.ThreadingHTTPServer):
    """An npm registry on 127.0.0.1 for any /<name>/<version>: a package whose browser build is
    `window["<name>"] = "<version>";`; `tamper` serves other bytes than the hash names."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        self.requests: list[str] = []
        self.tamper = False

    def package(self, name: str, version: str) -> tuple[dict, bytes]:
        code = f'window["{name}"] = "{version}";'.encode()
        blob = tarball({"package/package.json": b"{}", "package/build/lib.min.js": code})
        digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
        dist = {"tarball": f"{self.url}tgz/{name}/{version}", "integrity": f"sha512-{digest}"}
        meta = {"name": name, "version": version, "jsdelivr": "build/lib.min.js", "dist": dist}
        return meta, blob


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server name)
        self.server.requests.append(self.path)
        parts = self.path.strip("/").split("/")
        meta, blob = self.server.package(parts[-2], parts[-1])
        if self.server.tamper:
            blob = blob[:-8] + b"tampered"
        body = blob if parts[0] == "tgz" else json.dumps(meta).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = FakeRegistry()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_versions_follow_dvc_render():
    from dvc_render.vega import VegaRenderer

    versions = report.cdn_versions()
    assert list(versions) == list(report.LIBRARIES)
    for name, version in versions.items():
        assert f"/npm/{name}@{version}" in VegaRenderer.SCRIPTS
    tags = {n: f'<script src="https://x/npm/{n}@{i}.1"></script>' for i, n in enumerate(versions)}
    assert report.cdn_versions("".join(tags.values())) == {n: f"{i}.1" for i, n in enumerate(tags)}
    with pytest.raises(UserError, match="vega-embed"):
        report.cdn_versions(tags["vega"] + tags["vega-lite"])


def test_fetch_verifies_and_caches(registry, tmp_path):
    path = report.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    assert path.read_text() == 'window["vega"] = "9.8.7";'
    assert registry.requests == ["/vega/9.8.7", "/tgz/vega/9.8.7"]
    assert report.fetch_library("vega", "9.8.7", tmp_path, registry.url) == path
    assert len(registry.requests) == 2  # cached: no network


def test_tampered_tarball_is_refused(registry, tmp_path):
    registry.tamper = True
    with pytest.raises(UserError, match="integrity") as e:
        report.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    assert "\n" not in str(e.value)
    assert not list(tmp_path.iterdir())  # nothing cached, not even a temporary file


def test_integrity_hashes():
    blob = b"package"
    report.check_integrity(blob, {"shasum": hashlib.sha1(blob).hexdigest()}, "x")
    with pytest.raises(UserError, match="no integrity hash"):
        report.check_integrity(blob, {}, "x")
    with pytest.raises(UserError, match="integrity hash"):
        report.check_integrity(blob, {"shasum": hashlib.sha1(b"other").hexdigest()}, "x")


def test_cli_fetches_from_the_configured_registry(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("npm_config_registry", registry.url)
    assert report.main(["--fetch-only", "--cache", str(tmp_path)]) == 0
    got = {p.name for p in tmp_path.iterdir()}
    assert got == {f"{n}@{v}.js" for n, v in report.cdn_versions().items()}


def closed_port() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_unreachable_registry_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("npm_config_registry", closed_port())
    assert report.main(["--fetch-only", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot fetch") and err.count("\n") == 1, err


def test_template_inlines_code_and_loads_nothing(tmp_path):
    code = {"vega@1": 'var s = "</script><!--"; var t = "{a}";'}
    page = report.page_template(code, "today, here")
    assert "{plot_divs}" in page and "{scripts}" not in page and "today, here" in page
    assert "</script><!--" not in page and r"\x3C/script>\x3C!--" in page
    Image.fromarray(np.zeros((3, 5, 3), np.uint8)).save(tmp_path / "a.png")
    html = page.replace("{plot_divs}", '<p>a</p><img src="a.png"><script>"<img src=x>"</script>')
    inlined = report.inline_images(html, tmp_path)
    uri = re.search(r'<img src="data:image/png;base64,([^"]+)">', inlined)
    assert uri and base64.b64decode(uri[1]) == (tmp_path / "a.png").read_bytes()
    assert '"<img src=x>"' in inlined and report.external_references(inlined) == []
    cdn = '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
    for bad in (cdn, '<img src="http://x/a.png">', '<link href="//x/a.css">'):
        assert report.external_references(inlined.replace("<p>a</p>", bad)), bad


def dvc_env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def make_project(root: Path) -> dict[str, int]:
    """A DVC project with plots like the pipeline's: training curves (tsv over step), per-image
    gain bars (csv, bar_horizontal) and a folder of PNG figures. Returns {kind: count}."""
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=root, env=dvc_env(), check=True)
    steps = np.arange(0, 50, 5)
    for name, values in {"train/loss": 1 / (1 + steps), "val/psnr_y": 20 + np.sqrt(steps)}.items():
        path = root / "dvclive/plots/metrics" / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        field = Path(name).name
        path.write_text(f"step\t{field}\n" + "".join(f"{s}\t{v}\n" for s, v in zip(steps, values)))
    gains = [0.1 * i - 0.15 for i in range(4)]
    rows = "".join(f"img{i}.png,{gain}\n" for i, gain in enumerate(gains))
    (root / "metrics").mkdir()
    (root / "metrics/per_image.csv").write_text("image,psnr_y_gain\n" + rows)
    (root / "plots").mkdir()
    for i in range(2):
        pixels = np.linspace(0, 255, 48 * 64 * 3).reshape(48, 64, 3).astype(np.uint8)
        Image.fromarray(np.roll(pixels, i * 7, axis=1)).save(root / f"plots/fig{i}.png")
    (root / "dvc.yaml").write_text(
        "plots:\n"
        "  - dvclive/plots/metrics:\n      x: step\n"
        "  - metrics/per_image.csv:\n"
        "      x: psnr_y_gain\n      y: image\n      template: bar_horizontal\n"
        "  - plots\n"
    )
    return {"charts": 3, "images": 2, "bars": len(gains), "points": len(steps)}


def test_no_plots_or_no_dvc_is_one_line(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    for name, version in report.cdn_versions().items():  # cached: no network
        (cache / f"{name}@{version}.js").write_text("")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, env=dvc_env(), check=True)
    with pytest.raises(UserError, match="made no page") as e:
        report.build_report(tmp_path, tmp_path / "out.html", cache)
    assert "\n" not in str(e.value) and not (tmp_path / "out.html").exists()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="`dvc` is not installed"):
        report.build_report(tmp_path, tmp_path / "out.html", cache)


def real_libraries() -> Path:
    """The cache of the real chart libraries (filled by make install), or skip with the reason."""
    cache = REPO / ".cache" / "vega"
    try:
        report.fetch_libraries(cache)
    except UserError as e:
        pytest.skip(f"the chart libraries are not cached and cannot be fetched: {e}")
    return cache


def test_report_renders_offline_in_chromium(tmp_path):
    browser, cache = chromium(), real_libraries()
    project = tmp_path / "project"
    project.mkdir()
    expected = make_project(project)
    out = report.build_report(project, tmp_path / "report" / "index.html", cache)
    assert list(out.parent.iterdir()) == [out]  # one file: no static/ folder beside it
    assert report.external_references(out.read_text()) == []
    shot = tmp_path / "report.png"
    marks = assert_renders(out, shot, browser, expected["charts"], expected["images"])
    assert marks["metrics_per_image_csv"] == expected["bars"], marks  # one bar per image
    curves = [n for n in marks if n.startswith("dvclive_plots_metrics_")]
    assert len(curves) == 2 and all(marks[n] >= expected["points"] for n in curves), marks
