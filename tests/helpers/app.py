"""srcore-app for the tests: tiny model files, the app served in this process or started as the
command, and a small HTTP client for its API."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from srcore.app.catalogue import Catalogue, startup_entries
from srcore.app.server import App, make_server
from srcore.app.sources import Sources
from srcore.config.schema import DiffusionConfig
from srcore.net.checkpoint import save_checkpoint
from tests.helpers.images import tiny_model

ADDRESS = re.compile(r"serving on (http://\S+/)")


def model_files(folder: Path) -> dict[str, Path]:
    """{knob: a x1..x4 clean-up model, other: another x1..x4 model without the knob, bad: a file
    that is not a model}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"knob": folder / "knob.pt", "other": folder / "other.pt", "bad": folder / "bad.pt"}
    save_checkpoint(
        files["knob"], tiny_model(scales=(1.0, 4.0), cleanup=True), DiffusionConfig(steps=4), 4
    )
    save_checkpoint(
        files["other"], tiny_model(seed=1, scales=(1.0, 4.0)), DiffusionConfig(steps=4), 4
    )
    files["bad"].write_text("not a model\n")
    return files


@contextmanager
def served(models: list[Path], scratch: Path, samples: Path | None = None):
    """The app on a free port of 127.0.0.1 in this process: yields its base URL."""
    catalogue = Catalogue(startup_entries(scratch, models), "cpu")
    app = App(catalogue, Sources(scratch, samples), scratch)
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def started(args: list[str], cwd: Path, timeout: float = 60.0):
    """`srcore-app --port 0 ARGS` as a process in cwd: yields (its URL, the process)."""
    cmd = [sys.executable, "-m", "srcore.commands.app", "--port", "0", *args]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, line = time.monotonic() + timeout, ""
        while time.monotonic() < deadline and not ADDRESS.search(line):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"srcore-app exited {proc.returncode}: {proc.stderr.read()}")
        found = ADDRESS.search(line)
        assert found, f"srcore-app printed no address in {timeout:g} s"
        yield found.group(1).rstrip("/"), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def call(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, object]:
    """(status, the JSON answer or the raw bytes) of GET url, or POST data when given."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, body, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as e:
        status, body, kind = e.code, e.read(), e.headers["Content-Type"]
    return status, json.loads(body) if kind == "application/json" else body


def upload(base: str, path: Path) -> tuple[int, dict]:
    return call(f"{base}/api/inputs", path.read_bytes(), {"X-Name": quote(path.name)})


def run_job(base: str, wait: float = 120.0, **request) -> dict:
    """Start a job and wait for its end: its last status."""
    status, started_job = call(f"{base}/api/jobs", json.dumps(request).encode())
    assert status == 200, started_job
    job, version, deadline = started_job["job"], -1, time.monotonic() + wait
    while time.monotonic() < deadline:
        _, s = call(f"{base}/api/jobs/{job}?after={version}")
        if s["state"] != "running":
            return s
        version = s["version"]
    raise AssertionError(f"job {job} still running after {wait:g} s")
