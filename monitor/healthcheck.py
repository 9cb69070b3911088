"""Ask a running daemon's ``/healthz``, with nothing but the standard library.

The container's HEALTHCHECK runs ``python -I -m monitor.healthcheck [CONFIG]`` every 30 s for the
life of the container, so this module imports no more than it needs (tomllib and socket): about
20 ms a run in the image, where ``monitor health``, which loads the application, takes 140 ms.
It reads ``[monitor] health_host``/``health_port`` from the config file (the argument, else
$MONITOR_CONFIG, else ./config.toml) without validating the rest: the daemon did that when it
started. Exit 0 when the daemon answers 200, else 1; its answer or the reason is printed.
``monitor health`` and ``monitor status`` ask through ``ask`` too.
"""

from __future__ import annotations

import os  # no pathlib: it would cost every run ~5 ms
import socket
import sys
import tomllib

# Shared with monitor.config, which declares these defaults in its SCHEMA.
CONFIG_ENV = "MONITOR_CONFIG"
DEFAULT_CONFIG_PATH = "config.toml"
DEFAULT_HEALTH_HOST = "127.0.0.1"
DEFAULT_HEALTH_PORT = 8787
_MOST = 64 * 1024  # the daemon's answer is a few lines


def local_host(host: str) -> str:
    """Where to reach an endpoint bound to ``host`` from this machine (a wildcard means loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def local_url(host: str, port: int) -> str:
    """The endpoint's URL as seen from this machine."""
    host = local_host(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def ask(host: str, port: int, timeout: float = 5.0) -> tuple[int | None, str]:
    """GET /healthz: (HTTP status, body), or (None, why no daemon could be asked)."""
    url = local_url(host, port) + "/healthz"
    try:
        with socket.create_connection((local_host(host), port), timeout=timeout) as connection:
            connection.sendall(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            answer = b""
            while len(answer) < _MOST and (chunk := connection.recv(_MOST)):
                answer += chunk
    except OSError as e:
        return None, f"no daemon answers at {url}: {e.strerror or e}"
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        return None, f"no HTTP answer at {url}: {head[:80]!r}"
    return int(status_line[1]), body.decode("utf-8", "replace")


def endpoint(config_path: str) -> tuple[str, int]:
    """``[monitor] health_host`` and ``health_port`` of a config file; ValueError says what is wrong."""
    try:
        with open(config_path, "rb") as file:
            section = tomllib.load(file).get("monitor", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{config_path}: cannot read the config: {e}") from e
    host = section.get("health_host", DEFAULT_HEALTH_HOST)
    port = section.get("health_port", DEFAULT_HEALTH_PORT)
    if not isinstance(host, str) or type(port) is not int or not 0 < port < 65536:
        raise ValueError(f"{config_path}: [monitor] health_host = {host!r}, health_port = {port!r}: no endpoint to ask")
    return host, port


def main(argv: list[str]) -> int:
    config_path = argv[0] if argv else os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH
    try:
        status, text = ask(*endpoint(config_path))
    except ValueError as e:
        status, text = None, str(e)
    print(text.rstrip("\n"))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
