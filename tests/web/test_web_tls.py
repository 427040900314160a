"""HTTPS through the guarded transport: certificates are verified against the host *name*
while the connection goes to the address the policy vetted."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from webworld import StubResolver

import guardrail.web.transport
from guardrail.exceptions import WebError
from guardrail.web.http import HttpConfig, HttpSession
from guardrail.web.safety import HostPolicy

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=good.test",
                    "-addext", "subjectAltName=DNS:good.test"], check=True, capture_output=True, timeout=60)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()


def test_untrusted_certificate_is_refused(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    session = HttpSession(HttpConfig(timeout=2, retries=0),
                          HostPolicy(("127.0.0.1",), resolver=StubResolver({"good.test": ["127.0.0.1"]})))
    with pytest.raises(WebError, match="CERTIFICATE_VERIFY_FAILED"):
        session.request("GET", f"https://good.test:{port}/")


def test_certificate_is_checked_against_the_name_not_the_vetted_address(
        tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    port, cert = tls_server
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(guardrail.web.transport, "_ssl_context", lambda: trusting)
    resolver = StubResolver({"good.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    session = HttpSession(HttpConfig(timeout=2, retries=0), HostPolicy(("127.0.0.1",), resolver=resolver))
    assert session.request("GET", f"https://good.test:{port}/").content == b"hello"
    # Same address, other name: the certificate does not cover it.
    with pytest.raises(WebError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
        session.request("GET", f"https://other.test:{port}/")
    assert resolver.calls.count("good.test") == 1
