"""A failed fetch in words a user can act on, with the kind ``monitor status`` groups by."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

import pycurl

from monitor.model import FetchFailed
from monitor.retry_after import parse_retry_after
from monitor.settings import FetchSettings
from monitor.textsafety import clean


def curl_failure(url: str, code: int, message: str, limits: FetchSettings) -> FetchFailed:
    """A libcurl error in words a user can act on, with the kind ``monitor status`` groups by."""
    host = urlsplit(url).hostname or url
    if code == pycurl.E_OPERATION_TIMEDOUT:
        lowered = message.lower()
        if "too slow" in lowered:
            return FetchFailed(
                url, "timeout", f"the server went silent for {limits.read_timeout:g}s; is it overloaded?"
            )
        if "connect" in lowered and "received" not in lowered:
            return FetchFailed(
                url, "timeout", f"could not connect within {limits.connect_timeout:g}s; is the server down?"
            )
        return FetchFailed(
            url, "timeout", f"no complete answer within {limits.timeout:g}s (a slow server or an endless body)"
        )
    if code == pycurl.E_FILESIZE_EXCEEDED:
        return too_large(url, limits)
    if "HTTP/0.9" in message:  # libcurl files a reply without a status line under "unsupported protocol"
        code = 8
    kind, words = _CURL_ERRORS.get(code, ("http", "{curl}"))
    return FetchFailed(url, kind, words.format(host=host, curl=clean(message), redirects=limits.max_redirects))


_CURL_ERRORS = {
    pycurl.E_COULDNT_RESOLVE_HOST: (
        "dns",
        "cannot resolve {host}: check the feed URL, or the machine's DNS and network",
    ),
    pycurl.E_COULDNT_RESOLVE_PROXY: ("dns", "cannot resolve the proxy's host ({curl}): check HTTPS_PROXY/HTTP_PROXY"),
    pycurl.E_COULDNT_CONNECT: ("connect", "cannot connect to {host}: {curl}"),
    pycurl.E_SEND_ERROR: ("connect", "the connection to {host} failed: {curl}"),
    pycurl.E_RECV_ERROR: ("connect", "the connection to {host} failed: {curl}"),
    pycurl.E_SSL_CONNECT_ERROR: ("tls", "TLS with {host} failed: {curl}"),
    pycurl.E_PEER_FAILED_VERIFICATION: ("tls", "TLS with {host} failed: {curl}"),
    pycurl.E_SSL_CERTPROBLEM: ("tls", "TLS with {host} failed: {curl}"),
    pycurl.E_SSL_CACERT_BADFILE: ("tls", "TLS with {host} failed: {curl}"),
    pycurl.E_TOO_MANY_REDIRECTS: ("redirects", "more than {redirects} redirects (a redirect loop?)"),
    pycurl.E_GOT_NOTHING: ("http", "the server closed the connection without answering"),
    pycurl.E_PARTIAL_FILE: ("http", "the body was cut short: {curl}"),
    8: ("http", "the server's answer is not valid HTTP: {curl}"),  # CURLE_WEIRD_SERVER_REPLY
    pycurl.E_UNSUPPORTED_PROTOCOL: ("http", "not a fetchable http(s) URL, or a redirect to one: {curl}"),
    pycurl.E_URL_MALFORMAT: ("http", "not a valid URL: {curl}"),
}


def too_large(url: str, limits: FetchSettings) -> FetchFailed:
    return FetchFailed(
        url,
        "too_large",
        f"the body is larger than {limits.max_bytes} bytes (decompressed); raise [fetch] max_bytes if it is real",
    )


def http_failure(url: str, status: int, headers: dict[str, str]) -> FetchFailed:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "error"
    hint = {
        404: "; check the feed URL",
        410: "; the feed is gone, remove it",
        401: "; the feed needs auth",
        429: "; the server asks us to slow down",
    }
    return FetchFailed(
        url,
        "http",
        f"HTTP {status} {reason}{hint.get(status, '')}",
        status=status,
        retry_after=parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None,
    )
