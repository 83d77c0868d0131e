import hashlib
import json
from pathlib import Path

import pytest

from srcore.common.errors import UserError
from srcore.report import npm
from tests.helpers.npm_registry import serving


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving() as server:
        yield server


def test_fetch_verifies_caches_and_records(registry, tmp_path):
    path = npm.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    assert path.read_text() == 'window["vega"] = "9.8.7";'
    assert registry.requests == ["/vega/9.8.7", "/tgz/vega/9.8.7"]
    record = json.loads((tmp_path / "vega@9.8.7.json").read_text())
    assert record["package"] == "vega@9.8.7" and record["file"] == "package/build/lib.min.js"
    assert record["sha512"] == hashlib.sha512(path.read_bytes()).hexdigest()
    assert record["tarball"] == f"{registry.url}tgz/vega/9.8.7"
    assert record["integrity"].startswith("sha512-")
    assert npm.fetch_library("vega", "9.8.7", tmp_path, registry.url) == path
    assert len(registry.requests) == 2  # cached and matching its record: no network


def test_a_changed_cache_is_fetched_again(registry, tmp_path):
    path = npm.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    record = tmp_path / "vega@9.8.7.json"
    good = record.read_text()
    breakages = {
        "edited file": lambda: path.write_text('window["vega"] = "evil";'),
        "truncated file": lambda: path.write_bytes(path.read_bytes()[:5]),
        "no record": record.unlink,
        "unreadable record": lambda: record.write_text("{"),
        "another package's record": lambda: record.write_text(good.replace("vega@", "vega-lite@")),
    }
    for i, (what, breakage) in enumerate(breakages.items()):
        breakage()
        assert npm.cached_library(tmp_path, "vega", "9.8.7") is None, what
        assert npm.fetch_library("vega", "9.8.7", tmp_path, registry.url) == path, what
        assert path.read_text() == 'window["vega"] = "9.8.7";', what
        assert len(registry.requests) == 2 * (i + 2), what  # fetched again
        assert npm.cached_library(tmp_path, "vega", "9.8.7") == path, what


def test_tampered_tarball_is_refused(registry, tmp_path):
    registry.fault = "tamper"
    with pytest.raises(UserError, match="integrity") as e:
        npm.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    assert "\n" not in str(e.value)
    assert not list(tmp_path.iterdir())  # nothing cached, not even a temporary file


@pytest.mark.parametrize(
    "fault, message",
    [("no-file", "holds no readable package/build/other.js"), ("bad-meta", "no dist")],
)
def test_a_wrong_package_is_one_line(registry, tmp_path, fault, message):
    registry.fault = fault
    with pytest.raises(UserError, match=message) as e:
        npm.fetch_library("vega", "9.8.7", tmp_path, registry.url)
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())


def test_integrity_hashes():
    blob = b"package"
    npm.check_integrity(blob, {"shasum": hashlib.sha1(blob).hexdigest()}, "x")
    with pytest.raises(UserError, match="no integrity hash"):
        npm.check_integrity(blob, {}, "x")
    with pytest.raises(UserError, match="integrity hash"):
        npm.check_integrity(blob, {"shasum": hashlib.sha1(b"other").hexdigest()}, "x")


def test_registry_from_npmrc_without_npm(tmp_path, monkeypatch):
    home, project, bin_ = tmp_path / "home", tmp_path / "project", tmp_path / "bin"
    for folder in (home, project, bin_):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(bin_))  # no npm on it
    for var in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(project)
    assert npm.npm_registry() == npm.DEFAULT_REGISTRY
    (home / ".npmrc").write_text(
        "registry = https://home.example/npm\n@scope:registry=https://scoped.example/\n"
        "; registry=https://comment.example/\n# registry=https://comment.example/\n"
    )
    assert npm.npm_registry() == "https://home.example/npm/"
    monkeypatch.setenv("REGISTRY_HOST", "proj.example")
    (project / ".npmrc").write_text('registry="https://${REGISTRY_HOST}/npm/"\n')
    assert npm.npm_registry() == "https://proj.example/npm/"  # the project's before ~/.npmrc
    assert npm.npm_registry(Path(home)) == "https://home.example/npm/"
    monkeypatch.setenv("npm_config_registry", "https://env.example/")
    assert npm.npm_registry() == "https://env.example/"
