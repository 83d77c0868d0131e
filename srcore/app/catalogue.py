"""The models srcore-app offers, each loaded once on first use and kept warm.

    workspace      models/model.pt of the project the app runs in (what `dvc repro` trained)
    <experiment>   the model of each DVC experiment whose models/model.pt is in the DVC cache,
                   named as `dvc exp show` names it (and each baseline commit's, by branch name)
    <path>         each model file or ONNX graph named on the command line

Experiments are listed by `dvc exp show --json` in a background thread, so the page opens at
once; nothing is pulled from a remote. A file that is not a model stays in the list and answers
with the one-line error its loading gave.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srcore.app.request import BICUBIC, ORIGINAL
from srcore.common.cli import one_line
from srcore.common.errors import UserError
from srcore.deploy.onnx_backend import OnnxSampler
from srcore.deploy.upscaler import Upscaler
from srcore.net.device import pick_device

WORKSPACE_MODEL = Path("models") / "model.pt"
RESERVED = (BICUBIC, ORIGINAL)  # the sides of the slider that are not models
DVC_SECONDS = 120  # `dvc exp show` on a repository with many experiments


@dataclass
class Entry:
    """One model of the catalogue: its name in the page, its file, where it came from."""

    name: str
    path: Path
    origin: str  # workspace, experiment, commit or file
    upscaler: Upscaler | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Catalogue:
    """The app's models by name: listed at once, loaded on first use (thread-safe)."""

    def __init__(self, entries: list[Entry], device: str = "auto") -> None:
        self.device = device
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.pending = False  # experiments still being listed
        self.add(entries)

    def add(self, entries: list[Entry]) -> None:
        """Add entries whose names are not taken yet (a name already listed keeps its model); a
        model called as a side that is not a model (bicubic, original) is listed as
        `<name> (<origin>)`."""
        with self._lock:
            for e in entries:
                if e.name in RESERVED:
                    e.name = f"{e.name} ({e.origin})"
                self._entries.setdefault(e.name, e)

    def where(self) -> str:
        """Where the models run, in words (the page's header shows it)."""
        device = pick_device(self.device)
        if device.type == "cuda":
            return f"cuda: {torch.cuda.get_device_name(device)}"
        return f"cpu: {cpu_name()}, {torch.get_num_threads()} threads"

    def listing(self) -> list[dict]:
        """[{name, origin}] in the order they were added."""
        with self._lock:
            return [{"name": e.name, "origin": e.origin} for e in self._entries.values()]

    def upscaler(self, name: str) -> Upscaler:
        """The model called `name`, loaded on the first call; a UserError with the loading's
        one-line error (every later call repeats it) or for a name not listed."""
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise UserError(f"model {name!r}: not one of the app's models")
        with entry.lock:
            if entry.upscaler is None and entry.error is None:
                try:
                    entry.upscaler = Upscaler.load(entry.path, self.device)
                except Exception as e:  # a file that is not a model: said in the page, kept
                    entry.error = one_line(e)
            if entry.error is not None:
                raise UserError(naming(name, entry.error))
            return entry.upscaler

    def card(self, name: str) -> dict:
        """What the page's controls offer for model `name` (loading it): its scales, whether it
        has the clean-up knob and a level head, its steps, whether it is an ONNX graph."""
        return model_card(name, self.upscaler(name))

    def discover_experiments(self, root: Path) -> threading.Thread:
        """List the DVC experiments' models in a background thread; returns the thread."""
        self.pending = True

        def work() -> None:
            try:
                self.add(experiment_entries(root))
            finally:
                self.pending = False

        thread = threading.Thread(target=work, name="dvc-experiments", daemon=True)
        thread.start()
        return thread


def naming(name: str, message: str) -> str:
    """`message` about model `name`, prefixed with the name unless it names it already."""
    return message if name in message else f"model {name}: {message}"


def model_card(name: str, up: Upscaler) -> dict:
    """The controls of one loaded model: scales [low, high] (one value twice for a fixed scale),
    default scale, cleanup (has the knob), auto (has the level head), steps (default, chain),
    onnx (an exported graph: one step, one draw, no ensemble)."""
    engine = up.engine
    if isinstance(engine, OnnxSampler):
        scale = float(engine.scale)
        return {
            "name": name,
            "onnx": True,
            "scales": [scale, scale],
            "scale": scale,
            "cleanup": False,
            "auto": False,
            "steps": [1, 1],
            "fixed_seed": engine.fixed_seed if engine.lr_only else None,
        }
    cfg, spec = engine.net.cfg, up.spec(up.defaults)
    low, high = cfg.scales if cfg.scales else (engine.own_scale, engine.own_scale)
    return {
        "name": name,
        "onnx": False,
        "scales": [float(low), float(high)],
        "scale": float(spec.scale),
        "cleanup": engine.takes_cleanup,
        "auto": engine.estimates,
        "steps": [spec.steps, engine.diffusion.num_steps],
        "fixed_seed": None,
    }


def startup_entries(root: Path, files: list[Path]) -> list[Entry]:
    """The workspace's model (when trained) and the files named on the command line."""
    entries = []
    if (root / WORKSPACE_MODEL).is_file():
        entries.append(Entry("workspace", root / WORKSPACE_MODEL, "workspace"))
    entries += [Entry(str(f), f, "file") for f in files]
    return entries


def experiment_entries(root: Path, env: dict | None = None) -> list[Entry]:
    """The models of `dvc exp show` in `root` whose file is in the DVC cache: experiments by
    name, baseline commits by branch name (or short hash). [] without DVC or a DVC project.
    env: the environment DVC runs in (None: this process's)."""
    beside = Path(sys.executable).parent / "dvc"  # the venv's, when it is not activated
    dvc = shutil.which("dvc") or (str(beside) if beside.is_file() else None)
    if dvc is None or not (root / ".dvc").is_dir():
        return []
    shown = _dvc_json(dvc, root, env, "exp", "show", "--json")
    cache = _dvc_text(dvc, root, env, "cache", "dir")
    if shown is None or not cache:
        return []
    entries = []
    for name, origin, md5 in shown_models(shown):
        path = Path(cache) / "files" / "md5" / md5[:2] / md5[2:]
        if path.is_file():
            entries.append(Entry(name, path, origin))
    return entries


def shown_models(shown: list[dict]) -> list[tuple[str, str, str]]:
    """(name, origin, md5 of models/model.pt) of each row of `dvc exp show --json`: commits
    (origin commit) and their experiments (origin experiment). The workspace row is skipped (the
    app reads its file directly), and so is a commit whose model is the workspace's."""
    rows, workspace = [], None
    for base in shown:
        if base.get("rev") == "workspace":
            workspace = _model_md5(base)
        else:
            rows.append((base, "commit"))
        for exp in base.get("experiments") or []:
            rows += [(rev, "experiment") for rev in exp.get("revs") or []]
    found = []
    for row, origin in rows:
        md5, name = _model_md5(row), row.get("name") or str(row.get("rev", ""))[:7]
        if md5 and name and not (origin == "commit" and md5 == workspace):
            found.append((name, origin, md5))
    return found


def _model_md5(row: dict) -> str | None:
    """The md5 of models/model.pt in one row of `dvc exp show --json` (DVC 3 calls it hash)."""
    out = ((row.get("data") or {}).get("outs") or {}).get(str(WORKSPACE_MODEL)) or {}
    md5 = str(out.get("md5") or out.get("hash") or "")
    return md5 if re.fullmatch(r"[0-9a-f]{32}", md5) else None


def cpu_name() -> str:
    """The processor's model name (Linux), else what the platform module says."""
    import platform

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _dvc_json(dvc: str, root: Path, env: dict | None, *args: str) -> list | None:
    text = _dvc_text(dvc, root, env, *args)
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


def _dvc_text(dvc: str, root: Path, env: dict | None, *args: str) -> str:
    """What `dvc args` prints in root ("" when it fails or takes too long)."""
    try:
        done = subprocess.run(
            [dvc, *args], cwd=root, env=env, capture_output=True, text=True, timeout=DVC_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
