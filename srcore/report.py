"""One self-contained HTML page of every DVC plot, readable offline.

    python -m srcore.report [--repo .] [-o report/index.html] [--cache .cache/vega] [--fetch-only]

`dvc plots show` writes a page whose charts load vega, vega-lite and vega-embed from a CDN, so
offline only its PNG figures show. Here the three libraries, at the versions the installed
dvc-render asks for, are fetched once from the npm registry (the one npm is configured with) into a
git-ignored cache, checked against the registry's integrity hash, and inlined into the page through
`dvc plots show --html-template`; the images are inlined as data: URIs. The page names the date and
the machine it was made on and references nothing outside itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .atomic import atomic_write, write_text
from .cli import HelpFormatter, call
from .errors import UserError
from .figures import machine

LIBRARIES = ("vega", "vega-lite", "vega-embed")  # in load order: vega-embed needs the other two
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
SCRIPT_TAG = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.I | re.S)
IMG_SRC = re.compile(r'(<img\b[^>]*\bsrc=")([^"]+)(")', re.I)
REFERENCE = re.compile(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]+)|url\(\s*["']?([^"')\s]+)""", re.I)
# `</script` or `<!--` inside inline code would end or confuse the HTML script element
UNSAFE_IN_SCRIPT = re.compile(r"<(?=/script|!--)", re.I)
LT_ESCAPE = r"\\x3C"  # `<` in a JS string, regex or template literal, but not to the HTML parser


def cdn_versions(scripts: str | None = None) -> dict[str, str]:
    """{library: version} from dvc-render's CDN script tags (`.../npm/vega@5.20.2`), so the inlined
    libraries are the ones DVC's own page would load."""
    if scripts is None:
        from dvc_render.vega import VegaRenderer

        scripts = VegaRenderer.SCRIPTS
    found = dict(re.findall(r"/npm/(vega(?:-lite|-embed)?)@([\w.+-]+)", scripts))
    missing = [name for name in LIBRARIES if name not in found]
    if missing:
        raise UserError(f"dvc-render's VegaRenderer.SCRIPTS names no version of {missing}")
    return {name: found[name] for name in LIBRARIES}


def npm_registry() -> str:
    """The registry npm uses ($npm_config_registry, `npm config get registry`), else npmjs.org."""
    url = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
    if not url and shutil.which("npm"):
        try:
            got = subprocess.run(
                ["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=30
            )
            url = got.stdout.strip() if got.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            url = ""
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


def fetch_library(name: str, version: str, cache: Path, registry: str) -> Path:
    """cache/<name>@<version>.js, downloaded from the registry and verified when absent.

    Nothing touches the network when the file is already cached; a download is written atomically.
    """
    dst = cache / f"{name}@{version}.js"
    if dst.is_file():
        return dst
    what = f"{name}@{version}"
    meta_url = f"{registry.rstrip('/')}/{urllib.parse.quote(name, safe='@')}/{version}"
    try:
        meta = json.loads(http_get(meta_url, f"the npm metadata of {what}"))
        dist = meta["dist"]
        tarball = dist["tarball"]
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
    with atomic_write(dst) as tmp:
        tmp.write_bytes(code)
    print(f"fetched {what} ({len(code) / 1e3:.0f} kB {member}) into {cache}")
    return dst


def fetch_libraries(cache: Path, registry: str | None = None) -> dict[str, Path]:
    """{library: cached .js} for every library at dvc-render's versions, fetching the missing."""
    versions = cdn_versions()
    missing = [n for n in LIBRARIES if not (cache / f"{n}@{versions[n]}.js").is_file()]
    registry = (registry or npm_registry()) if missing else ""
    return {n: fetch_library(n, versions[n], cache, registry) for n in LIBRARIES}


def page_template(libraries: dict[str, str], stamp: str) -> str:
    """A `dvc plots show --html-template` with the libraries' code inlined ({name@version: js}).

    It has DVC's `{plot_divs}` placeholder and no `{scripts}` one, where DVC would put its CDN tags.
    """
    scripts = "\n".join(
        f"<script>/* {name} */\n{UNSAFE_IN_SCRIPT.sub(LT_ESCAPE, code)}\n</script>"
        for name, code in libraries.items()
    )
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>srcore plots, {stamp}</title>
{scripts}
<style>body {{ font-family: sans-serif; }} table {{ border-spacing: 15px; }}</style>
</head>
<body>
<h1>srcore plots</h1>
<p class="stamp">Made {stamp}.</p>
{{plot_divs}}
</body>
</html>
"""


def outside_scripts(html: str, edit: Callable[[str], str]) -> str:
    """html with edit applied to the markup between its script elements (not to any code)."""
    parts, pos = [], 0
    for m in SCRIPT_TAG.finditer(html):
        parts += [edit(html[pos : m.start()]), m.group(0)]
        pos = m.end()
    return "".join(parts + [edit(html[pos:])])


def inline_images(html: str, base: Path) -> str:
    """html with every `<img src="relative path">` (relative to base) replaced by a data: URI;
    the `<img` strings inside script code are left alone."""

    def data_uri(match: re.Match) -> str:
        src = match.group(2)
        if src.startswith("data:") or re.match(r"[a-z][a-z0-9+.-]*:|//", src, re.I):
            return match.group(0)  # data: already, or a remote URL the offline check reports
        path = base / urllib.parse.unquote(src)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = base64.b64encode(path.read_bytes()).decode()
        return f"{match.group(1)}data:{kind};base64,{data}{match.group(3)}"

    return outside_scripts(html, lambda markup: IMG_SRC.sub(data_uri, markup))


def external_references(html: str) -> list[str]:
    """Every src/href/url() of the markup outside inline script bodies that is not a data: URI or
    an in-page #anchor, and every <script src=...>: what a browser would load from elsewhere."""
    markup = SCRIPT_TAG.sub(r"\1\3", html)
    refs = [a or b for a, b in REFERENCE.findall(markup)]
    return [r for r in refs if not r.startswith(("data:", "#"))]


def dvc_plots_page(repo: Path, template: str, folder: Path) -> str:
    """The index.html that `dvc plots show --html-template` run in repo writes into folder (with
    its images in folder/static)."""
    exe = Path(sys.executable).parent / "dvc"
    dvc = str(exe) if exe.is_file() else shutil.which("dvc")
    if dvc is None:
        raise UserError("`dvc` is not installed: `make install` installs it (srcore[pipeline])")
    write_text(folder / "template.html", template)
    cmd = [dvc, "plots", "show", "--html-template", str(folder / "template.html")]
    cmd += ["-o", str(folder)]
    done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    if done.returncode != 0 or not (folder / "index.html").is_file():
        said = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise UserError(f"`dvc plots show` in {repo} made no page: {said} (run `make run` first)")
    return (folder / "index.html").read_text(encoding="utf8")


def build_report(repo: Path, out: Path, cache: Path, registry: str | None = None) -> Path:
    """Write out: every DVC plot of repo on one page with the chart libraries and images inlined."""
    if not repo.is_dir():
        raise UserError(f"--repo {repo}: not a folder (the DVC project to show the plots of)")
    paths = fetch_libraries(cache, registry)
    code = {p.stem: p.read_text(encoding="utf8") for p in paths.values()}
    stamp = f"{date.today().isoformat()}, {machine()}"
    with tempfile.TemporaryDirectory(prefix="srcore-report-") as folder:
        html = dvc_plots_page(repo, page_template(code, stamp), Path(folder))
        html = inline_images(html, Path(folder))
    refs = external_references(html)
    if refs:
        raise AssertionError(f"the report still loads from outside itself: {refs[:5]}")
    write_text(out, html)
    markup = SCRIPT_TAG.sub(r"\1\3", html)
    charts, images = html.count("vegaEmbed('#"), len(IMG_SRC.findall(markup))
    print(f"wrote {out}: {charts} chart(s), {images} image(s), {len(html) / 1e6:.1f} MB")
    return out


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m srcore.report`."""
    ap = argparse.ArgumentParser(
        prog="python -m srcore.report", description=__doc__, formatter_class=HelpFormatter
    )
    ap.add_argument("--repo", type=Path, default=Path("."), help="the DVC project")
    ap.add_argument("-o", "--out", type=Path, default=Path("report/index.html"), help="the page")
    ap.add_argument(
        "--cache", type=Path, default=Path(".cache/vega"), help="the chart libraries' folder"
    )
    ap.add_argument(
        "--fetch-only", action="store_true", help="only fetch the chart libraries when missing"
    )
    return ap


def report(args: argparse.Namespace) -> int:
    """Fetch the libraries and, unless --fetch-only, write the page."""
    if args.fetch_only:
        fetch_libraries(args.cache)
    else:
        build_report(args.repo, args.out, args.cache)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and run; returns the exit code (2 for a user's mistake)."""
    return call(report, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
