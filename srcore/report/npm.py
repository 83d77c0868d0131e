"""The browser build of an npm package, fetched once from the npm registry and kept in a cache.

The registry is the one npm is configured with ($npm_config_registry, `npm config get registry`,
or without npm the `registry=` line of the project's .npmrc, then ~/.npmrc), else npmjs.org. A
package is checked against the registry's integrity hash before its file is kept; beside each
cached `<name>@<version>.js` a `<name>@<version>.json` records where it came from and its sha512,
and a cached file that no longer matches its record is fetched again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from srcore.common.atomic import atomic_write, write_json
from srcore.common.errors import UserError

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
ENV_VAR = re.compile(r"\$\{(\w+)\}")


def npmrc_registry(path: Path) -> str | None:
    """The `registry=` value of an .npmrc file (its last one, `${VAR}` expanded as npm does), or
    None when the file is absent, unreadable or sets none. Scoped `@scope:registry=` lines and
    `;`/`#` comments are not it."""
    try:
        lines = path.read_text(encoding="utf8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    found = None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "registry":
            value = value.strip().strip("\"'")
            found = ENV_VAR.sub(lambda m: os.environ.get(m[1], ""), value) or None
    return found


def npm_registry(project: Path | None = None) -> str:
    """The registry URL npm would use here, ending in `/`: $npm_config_registry, else `npm config
    get registry`, else (no npm) project/.npmrc (project: the current folder), then ~/.npmrc,
    else npmjs.org."""
    url = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
    if not url and shutil.which("npm"):
        try:
            got = subprocess.run(
                ["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=30
            )
            url = got.stdout.strip() if got.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            url = ""
    elif not url:
        rcs = ((project or Path.cwd()) / ".npmrc", Path.home() / ".npmrc")
        url = next((u for u in map(npmrc_registry, rcs) if u), "")
    url = url if url and url.startswith(("http://", "https://")) else DEFAULT_REGISTRY
    return url.rstrip("/") + "/"


def http_get(url: str, what: str) -> bytes:
    """The body of a GET of url; an unreachable or failing server is one UserError naming what."""
    request = urllib.request.Request(url, headers={"User-Agent": "srcore-report"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise UserError(
            f"cannot fetch {what} from {url} ({reason}); the offline report needs it once: "
            "run `make install` or `python -m srcore.report --fetch-only` with the npm registry "
            "reachable"
        ) from None


def check_integrity(blob: bytes, dist: dict, what: str) -> None:
    """Raise unless blob matches the registry's `dist.integrity` (SRI, e.g. sha512-<base64>) or,
    for old packages without one, `dist.shasum` (sha1 hex)."""
    checks = []
    for sri in str(dist.get("integrity", "")).split():
        algo, _, digest = sri.partition("-")
        if algo in ("sha512", "sha384", "sha256", "sha1"):
            checks.append(base64.b64encode(hashlib.new(algo, blob).digest()).decode() == digest)
    if not checks and dist.get("shasum"):
        checks.append(hashlib.sha1(blob).hexdigest() == dist["shasum"])
    if not checks:
        raise UserError(f"the npm registry gives no integrity hash for {what}; refusing it")
    if not all(checks):
        raise UserError(f"{what} does not match the npm registry's integrity hash; refusing it")


def browser_entry(meta: dict) -> str:
    """The file a CDN serves for a bare `npm/<name>@<version>` URL: `jsdelivr`, else `unpkg`."""
    entry = meta.get("jsdelivr") or meta.get("unpkg") or meta.get("browser")
    if not isinstance(entry, str):
        raise UserError(f"{meta.get('name')}@{meta.get('version')} names no browser build")
    return "package/" + entry.removeprefix("./")


def cached_library(cache: Path, name: str, version: str) -> Path | None:
    """cache/<name>@<version>.js when the record beside it names that package and the file's
    sha512; None when either is missing or they disagree (a changed or truncated file)."""
    code, record = cache / f"{name}@{version}.js", cache / f"{name}@{version}.json"
    try:
        meta = json.loads(record.read_text(encoding="utf8"))
        digest = hashlib.sha512(code.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("package") != f"{name}@{version}":
        return None
    return code if meta.get("sha512") == digest else None


def store_library(cache: Path, name: str, version: str, code: bytes, origin: dict) -> Path:
    """Write cache/<name>@<version>.js (code) and its record: the package, the code's sha512 and
    origin (the tarball, its integrity hash and the file taken from it). Both atomically."""
    dst = cache / f"{name}@{version}.js"
    with atomic_write(dst) as tmp:
        tmp.write_bytes(code)
    record = {"package": f"{name}@{version}", "sha512": hashlib.sha512(code).hexdigest()}
    write_json(dst.with_suffix(".json"), {**record, **origin})
    return dst


def fetch_library(name: str, version: str, cache: Path, registry: str) -> Path:
    """cache/<name>@<version>.js, downloaded from the registry and verified unless a copy that
    matches its record is cached (then nothing touches the network)."""
    cached = cached_library(cache, name, version)
    if cached is not None:
        return cached
    what = f"{name}@{version}"
    if (cache / f"{what}.js").exists():
        print(f"{cache / what}.js has no matching record beside it: fetching it again")
    meta_url = f"{registry.rstrip('/')}/{urllib.parse.quote(name, safe='@')}/{version}"
    try:
        meta = json.loads(http_get(meta_url, f"the npm metadata of {what}"))
        dist = meta["dist"]
        tarball = dist["tarball"]
        if not isinstance(tarball, str):
            raise TypeError(tarball)
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{meta_url} is not npm package metadata (no dist.tarball)") from None
    blob = http_get(tarball, f"the npm package {what}")
    check_integrity(blob, dist, f"{tarball} ({what})")
    member = browser_entry(meta)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            code = tar.extractfile(member).read()  # read in memory: nothing is unpacked to disk
    except (tarfile.TarError, KeyError, AttributeError, OSError):
        raise UserError(f"{tarball} ({what}) holds no readable {member}") from None
    integrity = dist.get("integrity") or f"sha1-hex {dist.get('shasum')}"
    origin = {"tarball": tarball, "integrity": integrity, "file": member}
    dst = store_library(cache, name, version, code, origin)
    print(f"fetched {what} ({len(code) / 1e3:.0f} kB {member}) into {cache}")
    return dst
