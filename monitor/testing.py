"""Local stand-ins for the outside world, on 127.0.0.1: a feed server, a Slack Web API server, a
webhook receiver and an SMTP server (aiosmtpd).

Used by the test suite and by `monitor demo`, so both exercise the same fakes. Each server runs
in a daemon thread, binds a free port and records what it received.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LocalServer:
    """Base: start/stop a ThreadingHTTPServer in a thread; ``url`` is its base URL."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (self.handler,), {"owner": self})
        self.server = _Server((host, port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Any

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# --- feeds ----------------------------------------------------------------------------------------


@dataclass
class FeedResource:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None


class _FeedHandler(_QuietHandler):
    def do_GET(self) -> None:
        server: FeedServer = self.owner
        path = self.path
        server.requests.append({"path": path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        resource = server.resources.get(path)
        if resource is None:
            self.send(404, b"not found", {"Content-Type": "text/plain"})
            return
        if resource.delay:
            time.sleep(resource.delay)
        if resource.redirect_to:
            self.send(resource.status or 302, b"", {"Location": resource.redirect_to})
            return
        validators = {}
        if resource.etag:
            validators["ETag"] = resource.etag
        if resource.last_modified:
            validators["Last-Modified"] = resource.last_modified
        if self._not_modified(resource):
            self.send(304, b"", validators)
            return
        self.send(
            resource.status,
            resource.body,
            {"Content-Type": resource.content_type, **validators, **resource.headers},
        )


    def _not_modified(self, resource: FeedResource) -> bool:
        """RFC 9110: If-None-Match, when sent, decides alone; else If-Modified-Since."""
        if (tag := self.headers.get("If-None-Match")) is not None:
            return resource.etag is not None and tag == resource.etag
        since = self.headers.get("If-Modified-Since")
        return resource.last_modified is not None and since == resource.last_modified


class FeedServer(LocalServer):
    """Serves feed files by path, with ETag/Last-Modified/304, delays, errors and redirects."""

    handler = _FeedHandler

    def __init__(self) -> None:
        self.resources: dict[str, FeedResource] = {}
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def add(self, path: str, body: bytes | str, *, validators: bool = True, **options: Any) -> str:
        """Serve ``body`` at ``path`` (with an ETag and Last-Modified unless told not to); returns the URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        if validators:
            options.setdefault("etag", f'"v{abs(hash(data))}"')
            options.setdefault("last_modified", formatdate(usegmt=True))
        self.resources[path] = FeedResource(body=data, **options)
        return self.url + path

    def requests_for(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


# --- Slack ----------------------------------------------------------------------------------------


@dataclass
class SlackFault:
    """One scripted answer: an HTTP status, a Slack `error` code, headers, or a delay."""

    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _SlackHandler(_QuietHandler):
    def do_POST(self) -> None:
        server: SlackServer = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        if "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw or "{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        path = urlsplit(self.path).path
        request = {"path": path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}}
        with server.lock:
            server.received.append(request)
            fault = server.faults.popleft() if server.faults else None
        if fault and fault.delay:
            time.sleep(fault.delay)
        if path.startswith("/webhook/"):
            self._webhook(server, request, fault)
        elif path == "/api/chat.postMessage":
            self._post_message(server, request, fault)
        elif path == "/api/auth.test":
            self._answer(200, {"ok": True, "user_id": "UMONITOR", "team": "local"})
        else:
            self._answer(200, {"ok": False, "error": "unknown_method"})

    def _answer(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _post_message(self, server: SlackServer, request: dict[str, Any], fault: SlackFault | None) -> None:
        auth = request["headers"].get("authorization", "")
        if not auth.startswith("Bearer ") or auth == "Bearer ":
            self._answer(200, {"ok": False, "error": "not_authed"})
            return
        if fault:
            if fault.status == 429:
                self._answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1", **fault.headers})
            elif fault.status != 200:
                self.send(fault.status, b"upstream trouble", {"Content-Type": "text/plain", **fault.headers})
            else:
                self._answer(200, {"ok": False, "error": fault.error or "internal_error"}, fault.headers)
            return
        body = request["body"]
        if not body.get("channel"):
            self._answer(200, {"ok": False, "error": "channel_not_found"})
            return
        if error := server.channel_errors.get(body["channel"]):
            self._answer(200, {"ok": False, "error": error})
            return
        if not body.get("text") and not body.get("blocks"):
            self._answer(200, {"ok": False, "error": "no_text"})
            return
        with server.lock:
            channel = server.channel_ids.setdefault(body["channel"], f"C{len(server.channel_ids) + 100:08d}")
            now = time.monotonic()
            last = server.last_post.get(channel)
            limited = server.rate_limit is not None and last is not None and now - last < server.rate_limit
            if limited:
                server.rate_limited += 1
            else:
                server.last_post[channel] = now
                server.counter += 1
                ts = f"1700000000.{server.counter:06d}"
                server.messages.append({**body, "ts": ts, "channel_id": channel})
        if limited:
            self._answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            return
        if server.latency:  # the message is posted; a client killed now never hears so
            time.sleep(server.latency)
        self._answer(200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}})

    def _webhook(self, server: SlackServer, request: dict[str, Any], fault: SlackFault | None) -> None:
        if fault and fault.status != 200:
            headers = {"Retry-After": "1"} if fault.status == 429 else {}
            self.send(fault.status, (fault.error or "error").encode(), {"Content-Type": "text/plain", **headers})
            return
        if fault and fault.error:
            self.send(400, fault.error.encode(), {"Content-Type": "text/plain"})
            return
        with server.lock:
            server.messages.append({**request["body"], "webhook": request["path"]})
        self.send(200, b"ok", {"Content-Type": "text/plain"})


class SlackServer(LocalServer):
    """Speaks the Slack Web API methods the monitor uses (chat.postMessage, auth.test) and incoming
    webhooks; answers like Slack (``ok``/``error`` JSON, 429 with Retry-After); records everything.

    ``base_url`` goes into ``[slack] base_url``; ``webhook_url`` into the webhook env var.
    Scripted trouble: ``fail_next`` (the next calls' answers), ``channel_errors`` (a channel that
    always answers this error, e.g. ``is_archived``), ``rate_limit`` (seconds a channel needs
    between two posts, else 429 + Retry-After) and ``latency`` (seconds between posting a message
    and answering).
    """

    handler = _SlackHandler

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # successfully posted messages
        self.faults: deque[SlackFault] = deque()
        self.channel_ids: dict[str, str] = {}
        self.channel_errors: dict[str, str] = {}
        self.rate_limit: float | None = None
        self.rate_limited = 0  # posts refused by rate_limit
        self.last_post: dict[str, float] = {}
        self.latency = 0.0
        self.counter = 0
        super().__init__()

    @property
    def base_url(self) -> str:
        return self.url + "/api/"

    @property
    def webhook_url(self) -> str:
        return self.url + "/webhook/T000/B000/XXXX"

    def fail_next(self, *faults: SlackFault, times: int = 1) -> None:
        """Answer the next calls with these faults, in order (each repeated ``times``)."""
        with self.lock:
            self.faults.extend(fault for fault in faults for _ in range(times))

    def top_level(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if not m.get("thread_ts")]

    def replies(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("thread_ts")]


# --- webhook receiver -----------------------------------------------------------------------------


class _WebhookHandler(_QuietHandler):
    def do_POST(self) -> None:
        server: WebhookReceiver = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with server.lock:
            status = server.faults.popleft() if server.faults else 200
            server.received.append({"path": self.path, "headers": headers, "body": raw, "status": status})
        headers = {"Content-Type": "text/plain"}
        if status >= 300 and server.retry_after:
            headers["Retry-After"] = server.retry_after
        self.send(status, b"ok" if status < 300 else b"unavailable", headers)


class WebhookReceiver(LocalServer):
    """Receives outgoing webhook POSTs and records them (raw body, headers, the status it answered).

    ``fail_next(500, 500)`` answers the next requests with those statuses (an outage), then 200;
    failures carry ``Retry-After: retry_after`` when that is set.
    ``accepted()`` is what a receiver would act on: the 2xx-answered requests, JSON-decoded.
    """

    handler = _WebhookHandler

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.faults: deque[int] = deque()
        self.retry_after: str | None = None
        super().__init__()

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.faults.extend(statuses)

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{**r, "json": json.loads(r["body"])} for r in self.received if r["status"] < 300]


# --- SMTP -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A port free right now on 127.0.0.1 (aiosmtpd's Controller cannot bind port 0 itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _SmtpHandler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        owner = self.owner
        with owner.lock:
            if owner.faults:
                return owner.faults.popleft()
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            owner.messages.append(message)  # type: ignore[arg-type]
            owner.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that parses and records every message.

    ``tls=(certfile, keyfile)`` offers STARTTLS and requires it before mail, or with
    ``implicit=True`` speaks TLS from the first byte (``security = "ssl"``). ``login=(user,
    password)`` requires AUTH (over TLS only, when TLS is on). ``fail_next("451 4.3.0 busy")``
    answers the next messages with those replies instead of accepting them.
    """

    def __init__(
        self,
        *,
        tls: tuple[Path, Path] | None = None,
        implicit: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.login = login
        self.host, self.port = "127.0.0.1", free_port()
        options: dict[str, Any] = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            options.update({"ssl_context": context} if implicit else {"tls_context": context, "require_starttls": True})
        if login:
            # aiosmtpd counts only STARTTLS, not implicit TLS, as TLS for AUTH
            options.update(authenticator=self._authenticate, auth_require_tls=bool(tls) and not implicit)
        self.controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **options)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        given = (data.login, data.password) if isinstance(data, LoginPassword) else None
        expected = tuple(part.encode() for part in self.login) if self.login else None
        return AuthResult(success=given == expected, handled=False)  # handled=False: aiosmtpd answers 535

    def fail_next(self, *replies: str) -> None:
        with self.lock:
            self.faults.extend(replies)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
