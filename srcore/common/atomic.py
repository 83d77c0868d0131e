"""Atomic writes: write to a temporary file in the destination's folder, then rename over it.

A reader (or a killed writer's next run) sees the old file or the new one, never half of one.
The file gets the mode the user's umask gives a new file (0644 under umask 022), like `open(p,
"w")`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def atomic_path(dst: str | os.PathLike) -> tuple[Path, Path]:
    """A new empty temporary file in the destination's folder; `os.replace(tmp, dst)` then publishes
    it.

    It is created with mode 0666 less the umask (as `open` does), not mkstemp's 0600.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp, dst


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
    """Write a text file atomically."""
    with atomic_write(dst) as tmp:
        tmp.write_text(text)


def write_json(dst: str | os.PathLike, obj) -> None:
    """Write `obj` as indented JSON atomically."""
    write_text(dst, json.dumps(obj, indent=2) + "\n")
