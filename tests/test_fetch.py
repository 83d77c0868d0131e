"""DIV2K fetching against a local HTTP server on 127.0.0.1 (the real site is unreachable here)."""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srcore.data.fetch import (
    FetchError,
    check_archive,
    copy_checked,
    div2k_files,
    download,
    extract_flat,
)


def make_zip(prefix: str, n: int, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(n):
            img = io.BytesIO()
            Image.fromarray(np.full((40, 48, 3), 20 * i, np.uint8)).save(img, format="PNG")
            z.writestr(f"{prefix}/{i + 1:04d}.png", img.getvalue())
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


class Server:
    """Serves {path: bytes} with Range support; `cut_next` makes the next full GET stop halfway."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.cut_next, self.requests = files, False, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                data = outer.files.get(self.path)
                rng = self.headers.get("Range")
                outer.requests.append((self.path, rng))
                if data is None:
                    self.send_error(404)
                    return
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if outer.cut_next and not rng:
                    outer.cut_next = False
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the transfer dies halfway
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server(
        {
            "/DIV2K_train_HR.zip": make_zip("DIV2K_train_HR", 3),
            "/DIV2K_valid_HR.zip": make_zip("DIV2K_valid_HR", 2),
        }
    )
    yield s
    s.close()


def test_interrupted_download_resumes(server, tmp_path):
    server.cut_next = True
    dst = tmp_path / "DIV2K_train_HR.zip"
    with pytest.raises(FetchError, match="run again to resume"):
        download(f"{server.url}/DIV2K_train_HR.zip", dst)
    part = tmp_path / "DIV2K_train_HR.zip.part"
    have = part.stat().st_size
    assert not dst.exists() and 0 < have < len(server.files["/DIV2K_train_HR.zip"])
    download(f"{server.url}/DIV2K_train_HR.zip", dst)
    assert dst.read_bytes() == server.files["/DIV2K_train_HR.zip"] and not part.exists()
    assert server.requests[-1][1] == f"bytes={have}-"  # asked only for the rest


def test_div2k_download_check_and_extract(server, tmp_path):
    out = tmp_path / "raw" / "train"
    files = div2k_files("", server.url, tmp_path / "dl", "train", 3, out)
    assert sorted(p.name for p in files) == ["0001.png", "0002.png", "0003.png"]
    assert all(p.parent == out for p in files)
    rows = copy_checked(files, out, "div2k", "train")
    assert [r["status"] for r in rows] == ["ok"] * 3 and rows[0]["width"] == 48
    with pytest.raises(FetchError, match="expected 5 members"):
        div2k_files("", server.url, tmp_path / "dl", "train", 5, out)


def test_unreachable_server_names_the_url_and_the_offline_option(tmp_path):
    with pytest.raises(FetchError, match="div2k_dir"):
        download("http://127.0.0.1:9/DIV2K_train_HR.zip", tmp_path / "x.zip", timeout=2)


def test_corrupt_and_truncated_archives_are_detected(tmp_path):
    good = make_zip("DIV2K_valid_HR", 2)
    (tmp_path / "trunc.zip").write_bytes(good[: len(good) // 2])
    with pytest.raises(FetchError, match="not a whole zip"):
        check_archive(tmp_path / "trunc.zip", "DIV2K_valid_HR", 2)
    bad = bytearray(good)
    i = bad.find(b"IDAT") + 8  # flip bytes inside the first member's compressed data
    bad[i : i + 4] = bytes(b ^ 0xFF for b in bad[i : i + 4])
    (tmp_path / "crc.zip").write_bytes(bytes(bad))
    with pytest.raises(FetchError, match="corrupt"):
        check_archive(tmp_path / "crc.zip", "DIV2K_valid_HR", 2)


@pytest.mark.parametrize(
    "member", ["../evil.png", "/etc/evil.png", "DIV2K_valid_HR/../../evil.png"]
)
def test_members_escaping_the_folder_are_refused(tmp_path, member):
    (tmp_path / "a.zip").write_bytes(make_zip("DIV2K_valid_HR", 2, {member: b"x"}))
    with pytest.raises(FetchError, match="refusing member"):
        check_archive(tmp_path / "a.zip", "DIV2K_valid_HR", 2)
    assert not (tmp_path.parent / "evil.png").exists()


def test_local_div2k_dir_archive_is_used_offline(tmp_path):
    (tmp_path / "DIV2K_valid_HR.zip").write_bytes(make_zip("DIV2K_valid_HR", 2))
    files = div2k_files(
        str(tmp_path), "http://127.0.0.1:9", tmp_path / "dl", "valid", 2, tmp_path / "out"
    )
    assert len(files) == 2 and not (tmp_path / "dl").exists()
    with pytest.raises(FetchError, match="data.div2k_dir"):
        div2k_files(
            str(tmp_path / "nothing"),
            "http://127.0.0.1:9",
            tmp_path / "dl",
            "valid",
            2,
            tmp_path / "out",
        )


def test_extract_writes_only_inside_the_folder(tmp_path):
    (tmp_path / "a.zip").write_bytes(make_zip("DIV2K_valid_HR", 2))
    members = check_archive(tmp_path / "a.zip", "DIV2K_valid_HR", 2)
    out = extract_flat(tmp_path / "a.zip", members, tmp_path / "x")
    assert all(Path(p).parent == (tmp_path / "x").resolve() for p in out)
