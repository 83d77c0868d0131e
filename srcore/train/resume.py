"""Whether a checkpoint may continue a run: the run's identity and the checks against it.

A run's identity is what its weights depend on: the settings that change them (srcore.config.schema
marks them), the code, the training data and the kind of device (bf16 on CUDA, fp32 on the CPU). A
checkpoint is continued only when it holds an unfinished run of the same identity; otherwise the
reason is said in one line and training starts from scratch.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from srcore.net.checkpoint import ModelFileError, read_checkpoint


def code_fingerprint(extra: Iterable[str | Path] = ()) -> str:
    """sha256 of the source of every loaded srcore module (what this process really runs) and
    `extra` files. Files are named by folder/name, so a copy of the repository elsewhere (a queued
    experiment) matches."""
    mods = [
        m
        for n, m in list(sys.modules.items())
        if n.split(".")[0] == "srcore" and getattr(m, "__file__", None)
    ]
    files = {Path(m.__file__).resolve() for m in mods} | {Path(e).resolve() for e in extra}
    h = hashlib.sha256()
    for name, f in sorted((f"{f.parent.name}/{f.name}", f) for f in files):
        h.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def run_identity(
    settings: dict[str, Any], code: str = "", data: str = "", device: str = "cpu"
) -> dict:
    """What a checkpoint must match to be continued: the weight-changing settings, the code and
    data fingerprints, and the kind of device that trains (cpu: fp32, cuda: bf16)."""
    return {"settings": settings, "code": code, "data": data, "device": device}


def identity_changes(saved: dict, wanted: dict) -> list[str]:
    """'key: A -> B' for each weight-changing setting that differs, then code / data / device."""
    old, new = saved.get("settings") or {}, wanted["settings"]
    out = [
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(old | new)
        if old.get(k) != new.get(k)
    ]
    if saved.get("code") != wanted["code"]:
        out.append("the code changed")
    if saved.get("data") != wanted["data"]:
        out.append("the training data changed")
    if saved.get("device") != wanted["device"]:
        was = saved.get("device")
        hint = f"; train.device: {was} continues it" if was else ""
        out.append(
            f"device: {was!r} -> {wanted['device']!r} (cpu trains in fp32, cuda in bf16{hint})"
        )
    return out


def resumable_checkpoint(
    path: Path, identity: dict, steps: int, say: Callable = print
) -> dict | None:
    """The checkpoint at `path` if it holds an unfinished run of this identity, else None (the
    reason said)."""
    if not Path(path).is_file():
        return None
    try:
        checkpoint = read_checkpoint(path)
    except ModelFileError as e:
        say(f"checkpoint unusable, training from scratch: {e}")
        return None
    changes = identity_changes(checkpoint.get("identity") or {}, identity)
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        say(f"{path} is another run ({'; '.join(changes[:3])}{more}): training from scratch")
        return None
    if int(checkpoint["step"]) >= steps:
        say(f"{path} is a finished run (step {checkpoint['step']}): training from scratch")
        return None
    return checkpoint
