import base64
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from srcore.common.errors import UserError
from srcore.report import page as report
from srcore.report.npm import store_library
from tests.conftest import REPO
from tests.helpers.browser import assert_renders, chromium, keep_screenshot
from tests.helpers.npm_registry import serving


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


def test_cli_fetches_from_the_configured_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving() as registry:
        monkeypatch.setenv("npm_config_registry", registry.url)
        assert report.main(["--fetch-only", "--cache", str(tmp_path)]) == 0
    got = {p.name for p in tmp_path.iterdir()}
    versions = report.cdn_versions().items()
    assert got == {f"{n}@{v}.{ext}" for n, v in versions for ext in ("js", "json")}


def closed_port() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def one_error_line(capsys) -> str:
    """The command's stderr, which must be a single `error: ...` line."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_unreachable_registry_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("npm_config_registry", closed_port())
    assert report.main(["--fetch-only", "--cache", str(tmp_path)]) == 2
    assert one_error_line(capsys).startswith("error: cannot fetch")


def test_bad_paths_are_one_line_naming_the_option(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    repo = ["--repo", str(tmp_path)]
    bad = {
        "--cache": ["--fetch-only", "--cache", str(a_file)],
        "--cache ": ["--fetch-only", "--cache", str(a_file / "sub")],
        "-o": [*repo, "-o", str(tmp_path)],
        "-o ": [*repo, "-o", str(a_file / "index.html")],
    }
    for option, argv in bad.items():
        assert report.main(argv) == 2, argv
        err = one_error_line(capsys)
        assert err.startswith(f"error: {option.strip()} ") and str(tmp_path) in err, err
    assert a_file.read_text() == "" and sorted(tmp_path.iterdir()) == [a_file]


def fake_cache(cache: Path) -> Path:
    """A cache holding (empty) chart libraries with valid records: nothing is fetched."""
    for name, version in report.cdn_versions().items():
        store_library(cache, name, version, b"", {"file": "none"})
    return cache


def test_outside_reference_is_one_line(tmp_path, monkeypatch, capsys):
    page = '<p>a</p><img srcset="data:image/png;base64,AA 1x, https://x.example/b.png 2x">'
    monkeypatch.setattr(report, "dvc_plots_page", lambda *args: page)
    out, cache = tmp_path / "out.html", fake_cache(tmp_path / "cache")
    argv = ["--repo", str(tmp_path), "-o", str(out), "--cache", str(cache)]
    assert report.main(argv) == 2
    err = one_error_line(capsys)
    assert "load 1 file(s) from elsewhere" in err and "https://x.example/b.png" in err, err
    assert not out.exists()


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


@pytest.mark.parametrize(
    "markup, refs",
    [
        (
            '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
            ["https://cdn.jsdelivr.net/npm/vega@5"],
        ),
        ('<img src="http://x/a.png">', ["http://x/a.png"]),
        ("<link href='//x/a.css'>", ["//x/a.css"]),
        ('<img srcset="a.png 1x, b.png 2x">', ["a.png", "b.png"]),
        ('<img srcset="data:image/png;base64,A,B 1x,c.png,d.png">', ["c.png,d.png"]),
        ('<img srcset="a.png, data:image/png;base64,AA 2x">', ["a.png"]),
        ('<video poster="p.png" src=v.mp4></video>', ["p.png", "v.mp4"]),
        ('<object data="x.svg"></object>', ["x.svg"]),
        ('<div style="background: url(bg.png)"></div>', ["bg.png"]),
        ("<style>@import 'x.css';</style>", ["x.css"]),
        ('<p data-x="a.png" title="a > b">data=1 src=2</p><a href="#top">', []),
        ('<script>var a = "<img src=x.png srcset=y.png>";</script>', []),
    ],
)
def test_external_references_cover_every_loading_attribute(markup, refs):
    assert report.external_references(f"<body>{markup}</body>") == refs


def dvc_env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def test_no_plots_or_no_dvc_is_one_line(tmp_path, monkeypatch):
    cache = fake_cache(tmp_path / "cache")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, env=dvc_env(), check=True)
    with pytest.raises(UserError, match="made no page") as e:
        report.build_report(tmp_path, tmp_path / "out.html", cache)
    assert "\n" not in str(e.value) and not (tmp_path / "out.html").exists()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="`dvc` is not installed"):
        report.build_report(tmp_path, tmp_path / "out.html", cache)


def copy_project(root: Path) -> Path:
    """A DVC project with the repository's own plot definitions and data: its dvc.yaml, dvclive/
    and metrics/ (all in git), and a made-up plots/ folder of PNGs (a pipeline output, absent on
    a fresh clone)."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "dvc.yaml", root)
    for folder in ("dvclive", "metrics"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "plots").mkdir()
    for i, (height, width) in enumerate([(48, 64), (30, 90)]):
        pixels = np.linspace(0, 255, height * width * 3).reshape(height, width, 3)
        Image.fromarray(np.roll(pixels.astype(np.uint8), 7 * i, axis=1)).save(
            root / f"plots/fig{i}.png"
        )
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=root, env=dvc_env(), check=True)
    return root


def declared_plots(project: Path) -> tuple[dict[str, dict], list[Path]]:
    """What project's dvc.yaml declares as plots (a folder standing for its files): the charts,
    {page element id: {"rows": data rows, "template": name}}, and the PNG images."""
    spec = yaml.safe_load((project / "dvc.yaml").read_text())
    entries = [e for stage in spec.get("stages", {}).values() for e in stage.get("plots", [])]
    charts, images = {}, []
    for entry in entries + spec.get("plots", []):
        path, props = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        top = project / path
        for file in sorted(top.rglob("*")) if top.is_dir() else [top]:
            if file.suffix == ".png":
                images.append(file)
            elif file.is_file():
                chart = re.sub(r"\W", "_", file.relative_to(project).as_posix())
                rows = len(file.read_text().splitlines()) - 1  # less the header
                charts[chart] = {"rows": rows, "template": (props or {}).get("template", "")}
    return charts, images


@pytest.fixture(scope="module")
def project_page(tmp_path_factory) -> dict:
    """The report of copy_project, with the real chart libraries (fetched into the repository's
    cache when missing): {"project", "page"}, or {"error"} when the libraries cannot be had."""
    cache = REPO / ".cache" / "vega"
    try:
        report.fetch_libraries(cache)
    except UserError as e:
        return {"error": str(e)}
    root = tmp_path_factory.mktemp("report")
    project, page = copy_project(root / "project"), root / "report" / "index.html"
    return {"project": project, "page": report.build_report(project, page, cache)}


def built(project_page: dict) -> tuple[Path, Path]:
    """(project, page) of the project_page fixture; fails (never skips) without the libraries."""
    if "error" in project_page:
        pytest.fail(
            "the chart libraries (vega, vega-lite, vega-embed) cannot be obtained, so the report "
            f"cannot be built: {project_page['error']}"
        )
    return project_page["project"], project_page["page"]


def test_project_report_is_one_self_contained_file(project_page):
    project, page = built(project_page)
    charts, images = declared_plots(project)
    assert len(charts) >= 2 and images, (charts, images)
    assert list(page.parent.iterdir()) == [page]  # no static/ folder beside it
    html = page.read_text()
    assert report.external_references(html) == []
    assert sorted(re.findall(r"vegaEmbed\('#(\w+)'", html)) == sorted(charts)
    assert html.count('<img src="data:image/png;base64,') == len(images)


def test_project_report_renders_offline_in_chromium(project_page, tmp_path):
    browser = chromium()
    project, page = built(project_page)
    charts, images = declared_plots(project)
    marks = assert_renders(page, tmp_path / "report.png", browser, len(charts), len(images))
    assert set(marks) == set(charts), marks
    for chart, data in charts.items():
        if data["template"].startswith("bar"):
            assert marks[chart] == data["rows"], (chart, marks)  # one bar per row
        else:
            assert marks[chart] >= data["rows"], (chart, marks)  # a point per row, and lines


def test_screenshot_script_writes_the_docs_figure(project_page, tmp_path, capsys):
    chromium()
    _, page = built(project_page)
    spec = importlib.util.spec_from_file_location(
        "shot", REPO / "tests/helpers/report_screenshot.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "figure.png"
    assert script.main(["--page", str(page), "--out", str(out)]) == 0
    with Image.open(out) as figure:
        assert figure.mode == "P" and figure.width == script.SHOWN_WIDTH
        assert figure.height <= script.TOP * script.SHOWN_WIDTH / script.WIDTH
        assert len(figure.getcolors()) > 8  # a page, not a blank
    capsys.readouterr()
    assert script.main(["--page", str(tmp_path / "none.html"), "--out", str(out)]) == 2
    assert one_error_line(capsys).startswith("error: --page ")


def test_screenshot_is_kept_where_ci_asks(tmp_path, monkeypatch):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"png")
    monkeypatch.delenv("SRCORE_ARTIFACTS", raising=False)
    assert keep_screenshot(shot) is None
    monkeypatch.setenv("SRCORE_ARTIFACTS", str(tmp_path / "artifacts"))
    assert keep_screenshot(shot) == tmp_path / "artifacts" / "report.png"
    assert (tmp_path / "artifacts" / "report.png").read_bytes() == b"png"
