"""One self-contained HTML page of every DVC plot, readable offline.

    python -m srcore.report [--repo .] [-o report/index.html] [--cache .cache/vega] [--fetch-only]

`dvc plots show` writes a page whose charts load vega, vega-lite and vega-embed from a CDN, so
offline only its PNG figures show. Here the three libraries, at the versions the installed
dvc-render asks for, are fetched once from the npm registry into a git-ignored cache
(srcore.report.npm: integrity-checked, re-checked on each use) and inlined into the page through
`dvc plots show --html-template`; the images are inlined as data: URIs. The page names the date and
the machine it was made on and references nothing outside itself.
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from datetime import date
from pathlib import Path

from srcore.common.atomic import write_text
from srcore.common.cli import HelpFormatter, call
from srcore.common.errors import UserError
from srcore.report.figures import machine
from srcore.report.npm import cached_library, fetch_library, npm_registry

LIBRARIES = ("vega", "vega-lite", "vega-embed")  # in load order: vega-embed needs the other two
SCRIPT_TAG = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.I | re.S)
IMG_SRC = re.compile(r'(<img\b[^>]*\bsrc=")([^"]+)(")', re.I)
TAG = re.compile(r"""<[a-z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>""", re.I)
# the attributes whose value a browser loads (srcset: a list); style url() and @import anywhere
URL_ATTR = re.compile(
    r"""[\s/](src|href|xlink:href|srcset|poster|data|action|formaction|background)\s*=\s*"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
    re.I,
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""", re.I)
SRCSET_URL = re.compile(r"[\s,]*([^\s,]\S*)")
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


def check_folder(path: Path, option: str) -> None:
    """Raise a UserError naming option unless path is a folder or can be made one: neither it nor
    a parent is a file."""
    for p in (path, *path.parents):
        if p.is_dir():
            return
        if p.exists():
            raise UserError(f"{option}: {p} is a file, not a folder")


def fetch_libraries(cache: Path, registry: str | None = None) -> dict[str, Path]:
    """{library: cached .js} for every library at dvc-render's versions, fetching the missing
    (or changed) ones."""
    check_folder(cache, f"--cache {cache}")
    versions = cdn_versions()
    missing = [n for n in LIBRARIES if cached_library(cache, n, versions[n]) is None]
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


def srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset value, `url [descriptor], url [descriptor], ...`, where a URL (a data:
    one) may itself hold commas: a URL runs to the next whitespace, less any trailing commas."""
    urls, pos = [], 0
    while m := SRCSET_URL.match(value, pos):
        url, pos = m[1], m.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptor, up to the next candidate
            comma = value.find(",", pos)
            pos = len(value) if comma < 0 else comma + 1
        urls.append(url)
    return urls


def external_references(html: str) -> list[str]:
    """What a browser would load from outside the page: every src, href, srcset, poster, data
    (object), action, background attribute and every CSS url() or @import of the markup outside
    inline script bodies (a <script src=...> included) that is not a data: URI or a #anchor."""
    markup = SCRIPT_TAG.sub(r"\1\3", html)
    refs = []
    for tag in TAG.finditer(markup):
        for name, *quoted in URL_ATTR.findall(tag[0]):
            value = "".join(quoted).strip()
            refs += srcset_urls(value) if name.lower() == "srcset" else [value]
    refs += [a or b for a, b in CSS_URL.findall(markup)]
    return [r for r in refs if r and not r.startswith(("data:", "#"))]


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
    if out.is_dir():
        raise UserError(f"-o {out}: a folder; give the page's file name, e.g. {out / 'index.html'}")
    check_folder(out.parent, f"-o {out}")
    paths = fetch_libraries(cache, registry)
    code = {p.stem: p.read_text(encoding="utf8") for p in paths.values()}
    stamp = f"{date.today().isoformat()}, {machine()}"
    with tempfile.TemporaryDirectory(prefix="srcore-report-") as folder:
        html = dvc_plots_page(repo, page_template(code, stamp), Path(folder))
        html = inline_images(html, Path(folder))
    refs = external_references(html)
    if refs:
        raise UserError(
            f"the plots of {repo} would make the page load {len(refs)} file(s) from elsewhere, "
            f"e.g. {refs[0][:100]!r}: only the project's own plot files can be inlined"
        )
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
