"""A fake npm registry on 127.0.0.1 serving a tiny package for any /<name>/<version>."""

import base64
import contextlib
import gzip
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator


def tarball(files: dict[str, bytes]) -> bytes:
    """A .tgz holding files ({path: content}), as `npm pack` makes. The same bytes every time:
    the gzip header's time is 0, else a metadata request and the tarball's request on either
    side of a second would name different hashes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


class FakeRegistry(http.server.ThreadingHTTPServer):
    """Each package's browser build is `window["<name>"] = "<version>";`. `fault` breaks it:
    "tamper" serves other bytes than the hash names, "no-file" names a build the package lacks,
    "bad-meta" serves metadata without dist.tarball."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        self.requests: list[str] = []
        self.fault = ""

    def package(self, name: str, version: str) -> tuple[dict, bytes]:
        code = f'window["{name}"] = "{version}";'.encode()
        blob = tarball({"package/package.json": b"{}", "package/build/lib.min.js": code})
        digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
        dist = {"tarball": f"{self.url}tgz/{name}/{version}", "integrity": f"sha512-{digest}"}
        entry = "build/other.js" if self.fault == "no-file" else "build/lib.min.js"
        meta = {"name": name, "version": version, "jsdelivr": entry, "dist": dist}
        if self.fault == "bad-meta":
            meta["dist"] = {"integrity": dist["integrity"]}
        return meta, blob


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server name)
        self.server.requests.append(self.path)
        parts = self.path.strip("/").split("/")
        meta, blob = self.server.package(parts[-2], parts[-1])
        if self.server.fault == "tamper":
            blob = blob[:-8] + b"tampered"
        body = blob if parts[0] == "tgz" else json.dumps(meta).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving() -> Iterator[FakeRegistry]:
    """A FakeRegistry answering in a thread until the block ends (set no_proxy=127.0.0.1)."""
    server = FakeRegistry()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
