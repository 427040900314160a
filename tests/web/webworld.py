"""Helpers for the web tests: a real HTTP server on 127.0.0.1 that plays search APIs and
web pages, faults included.

Nothing here reaches beyond loopback.  The "forbidden" target is 127.0.0.2: loopback, so no
packet leaves the machine, yet not on any allow-list, so the policy must refuse it (and no
server listens there, so a failed refusal would still reach nothing).  Host names resolve
through a stub resolver, never DNS.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from guardrail.exceptions import WebError

FORBIDDEN_IP = "127.0.0.2"


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # between body chunks
    length: int | None = None  # Content-Length when the body is an iterable


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Seen], Reply]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self.hits: Counter[str] = Counter()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                size = int(self.headers.get("content-length") or 0)
                seen = Seen(self.command, parts.path, parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(size))
                with server._lock:
                    server.hits[parts.path] += 1
                    server.seen.append(seen)
                    route = server.routes.get(parts.path)
                reply = Reply(404, b"not found") if route is None else (
                    route if isinstance(route, Reply) else route(seen))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if isinstance(reply.body, bytes):
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        self.wfile.write(reply.body)
                        return
                    if reply.length is not None:
                        self.send_header("Content-Length", str(reply.length))
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    for chunk in reply.body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped reading: expected for caps

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, reply: Reply | Handler) -> str:
        self.routes[path] = reply
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class StubResolver:
    """Maps names to addresses without DNS; IP literals resolve to themselves."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = {"localhost": ["127.0.0.1"], **(table or {})}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        import ipaddress

        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in self.table:
            raise WebError(f"cannot resolve {host!r} (stub)")
        return list(self.table[host])


def html_page(title: str, paragraphs: list[str], *, charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html><head>{meta}<title>{title}</title></head><body>
<header><nav><a href="/">Home</a> | <a href="/about">About us</a> | <a href="/login">Log in</a></nav></header>
<main><article><h1>{title}</h1>
{body}
</article></main>
<aside><h3>Related</h3><ul><li><a href="/x">Ten facts about bridges</a></li></ul></aside>
<footer><p>Copyright 2024 Example Encyclopedia. All rights reserved. Privacy | Terms</p></footer>
</body></html>"""


EIFFEL = [
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.",
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
    "The tower was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair.",
    "It is 330 metres tall and was the tallest man-made structure in the world until 1930.",
]


def searx_json(server: LocalServer, paths: list[str], query: str = "") -> bytes:
    results = [{"url": server.url(p), "title": f"Result {i}", "content": f"Snippet {i} about {query}",
                "engine": "local", "score": 1.0 / (i + 1)} for i, p in enumerate(paths)]
    return json.dumps({"query": query, "number_of_results": len(results), "results": results}).encode()


def json_reply(data: object, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


def html_reply(html: str | bytes, content_type: str = "text/html; charset=utf-8", **kw: object) -> Reply:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return Reply(200, body, {"Content-Type": content_type}, **kw)  # type: ignore[arg-type]
