"""Atomic writes: write to a temporary file in the destination's folder, then rename over it.

A reader (or a killed writer's next run) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_path(dst: str | os.PathLike) -> tuple[Path, Path]:
    """A temporary path in the destination's folder; `os.replace(tmp, dst)` then publishes it."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    return Path(tmp), dst


@contextlib.contextmanager
def atomic_write(dst: str | os.PathLike) -> Iterator[Path]:
    """`with atomic_write(p) as tmp: write tmp` -> renamed to p on success, removed on error."""
    tmp, dst = atomic_path(dst)
    try:
        yield tmp
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(dst: str | os.PathLike, text: str) -> None:
    with atomic_write(dst) as tmp:
        tmp.write_text(text)


def write_json(dst: str | os.PathLike, obj) -> None:
    write_text(dst, json.dumps(obj, indent=2) + "\n")
