"""An HTTP server in a daemon thread: the daemon's /healthz and /metrics endpoint, and the local
stand-ins of ``monitor.testing`` (which the demo and the tests use) are built on it."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default listen backlog of 5 drops concurrent connects on a busy machine

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away mid-answer (a killed monitor): nothing to report
        super().handle_error(request, client_address)


class BackgroundServer:
    """Start and stop a ThreadingHTTPServer in a daemon thread; ``url`` is its base URL. Subclasses
    set ``handler``; each request handler reaches the server object as ``self.owner``."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (self.handler,), {"owner": self})
        self.server = _Server((host, port), handler)
        # a short poll: stop() returns within 50 ms instead of serve_forever's default 0.5 s
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
