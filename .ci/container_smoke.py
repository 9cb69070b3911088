"""The built image, run for real by a private Docker engine (.ci/container-check starts it).

    DOCKER_HOST=unix://... python .ci/container_smoke.py IMAGE POSTGRES_IMAGE

The far sides run here, on the host's 127.0.0.1: a feed (``monitor.testing.FeedServer``, serving
items of the bundled sample feed) and a Slack stand-in (``SlackServer``); the containers share the
host's network (``--network host``). Each check prints one line, ``ok`` or ``FAILED`` with what was
seen; the first failure ends the run (exit 1) after the containers and volumes are removed.

1. the image: runs as uid 10001, has no pip, the default image has no PostgreSQL driver and says
   how to get one, OCI labels;
2. the daemon with a volume: healthy, and the feed's matching stories reach Slack once each;
3. SIGTERM while a poll is in flight (the feed answers slowly), then a restart on the same
   volume: the story of that poll reaches Slack exactly once and nothing earlier is sent again;
4. the HEALTHCHECK probe against `monitor health`, timed inside the container;
5. `docker stop` of an idle daemon: exit 0 within a few seconds;
6. a root-owned bind mount for /data: a one-line error that names the database (and uid 10001);
7. the PostgreSQL variant: the driver loads and migrates a database on the host's server, when
   one answers at postgresql:///postgres (``.ci/run`` starts it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.testing import FeedServer, SlackServer, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKER = os.environ.get("DOCKER", "docker")
UID = "10001"
NAME, VOLUME = "monitor-ci", "monitor-ci-data"
RUN = ("run", "--pull", "never")  # the images were just built: never ask a registry
SAMPLE = (ROOT / "monitor" / "demo" / "wire.xml").read_text(encoding="utf-8")
ITEMS = re.findall(r"<item>.*?</item>", SAMPLE, re.S)
FIRST = "https://wire.demo.example/2026/alibaba-cloud-shengshu-vidu-round"  # alerts on the first poll
LATE = "https://wire.demo.example/2026/pixverse-60-million"  # published while a poll is cut short


class Failed(Exception):
    pass


def ok(what: str, detail: str = "") -> None:
    print(f"container-check: ok      {what}" + (f" ({detail})" if detail else ""), flush=True)


def expect(condition: object, what: str, seen: object) -> None:
    if not condition:
        raise Failed(f"{what}: saw {seen}")


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failed(f"docker {' '.join(args[:2])} took over {timeout}s") from e
    if check and result.returncode != 0:
        raise Failed(f"docker {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-400:]}")
    return result


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise Failed(f"timed out after {timeout:.0f}s waiting for {what}")


def feed(*links: str) -> str:
    chosen = [item for item in ITEMS if not any(f"<link>{link}</link>" in item for link in links)]
    return SAMPLE.split("<item>", 1)[0] + "\n".join(chosen) + "\n</channel>\n</rss>\n"


def posts_of(slack: SlackServer, link: str) -> int:
    """Messages (alerts or thread replies) that carry the article's link."""
    with slack.lock:
        return sum(link in json.dumps(message) for message in slack.messages)


def config_args(config: Path) -> list[str]:
    """The user's side of `docker run`: config.toml and rules mounted read-only, the Slack token."""
    mounts = ["-v", f"{config}:/config/config.toml:ro", "-v", f"{config.parent / 'rules'}:/config/rules:ro"]
    return [*mounts, "-e", "SLACK_BOT_TOKEN=xoxb-ci-local"]


def state(field: str) -> str:
    return docker("inspect", "-f", "{{" + field + "}}", NAME).stdout.strip()


def healthy_after(started: float, timeout: float = 60) -> float:
    wait_for(lambda: state(".State.Health.Status") == "healthy", timeout, "the HEALTHCHECK to pass")
    return time.monotonic() - started


def outbox_empty() -> bool:
    status = docker("exec", NAME, "monitor", "status", "--json", check=False)
    return status.returncode == 0 and json.loads(status.stdout)["outbox"]["pending"] == 0


def no_repeats(slack: SlackServer) -> None:
    with slack.lock:
        texts = [json.dumps(message) for message in slack.messages]
    links = [link for text in texts for link in set(re.findall(r"https://wire\.demo\.example/[\w/.-]+", text))]
    repeated = sorted({link for link in links if links.count(link) > 1})
    expect(not repeated, "each story reaches Slack once", f"repeated: {repeated}")


# --- the checks -----------------------------------------------------------------------------------


def check_image(image: str, config: Path) -> None:
    user = docker(*RUN, "--rm", "--network", "none", image, "id", "-u").stdout.strip()
    expect(user == UID, f"runs as uid {UID}", user)
    pip = docker(*RUN, "--rm", "--network", "none", image, "python", "-c", "import pip", check=False)
    expect(pip.returncode != 0, "no pip in the runtime image", "pip imports")
    labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", image).stdout)
    expect(labels.get("org.opencontainers.image.version"), "OCI labels", labels)
    run = [*RUN, "--rm", "--network", "none", "-e", "MONITOR_DATABASE_URL=postgresql://monitor@127.0.0.1:1/monitor"]
    no_driver = docker(*run, *config_args(config), image, "monitor", "migrate", check=False)
    said = no_driver.stderr.strip()
    one_line = no_driver.returncode == 2 and "EXTRAS=postgres" in said and "\n" not in said
    expect(one_line, "a postgresql:// database without the driver: one line saying how to get it", said)
    ok(f"image runs as uid {UID}, has no pip, OCI labels", f"without the driver: {said}")


def check_daemon(image: str, config: Path, feeds: FeedServer, slack: SlackServer) -> None:
    run = [*RUN, "-d", "--name", NAME, "--network", "host", "-v", f"{VOLUME}:/data", *config_args(config)]
    run += ["--health-interval", "1s", "--health-start-period", "30s"]
    started = time.monotonic()
    docker(*run, image)
    took = healthy_after(started)
    users = {line.split()[1] for line in docker("top", NAME, "-eo", "pid,uid").stdout.splitlines()[1:]}
    expect(users == {UID}, f"every process runs as uid {UID}", users)
    ok("daemon healthy", f"{took:.1f}s after docker run; processes as uid {UID}")
    wait_for(lambda: posts_of(slack, FIRST), 60, "the first story to reach the Slack stand-in")
    wait_for(outbox_empty, 60, "the outbox to empty")
    expect(posts_of(slack, FIRST) == 1, "the first story reaches Slack once", posts_of(slack, FIRST))
    no_repeats(slack)
    ok("feed -> rules -> Slack stand-in", f"{len(slack.messages)} messages, each story once")


def check_sigterm_mid_poll(feeds: FeedServer, slack: SlackServer) -> None:
    before = len(feeds.requests_for("/wire.xml"))
    feeds.add("/wire.xml", feed(), delay=4.0)  # the next poll waits 4 s for its answer
    wait_for(lambda: len(feeds.requests_for("/wire.xml")) > before, 30, "a poll of the slow feed")
    started = time.monotonic()
    docker("stop", "-t", "30", NAME, timeout=60)
    took = time.monotonic() - started
    code = state(".State.ExitCode")
    expect(code == "0", "SIGTERM mid-poll: exit 0", f"exit {code}")
    printed = docker("logs", NAME)
    logs = printed.stdout + printed.stderr
    expect("Traceback" not in logs, "no traceback", logs[-800:])
    ok("SIGTERM while a poll waits for the feed", f"stopped in {took:.1f}s, exit 0")
    feeds.add("/wire.xml", feed())
    polls = len(feeds.requests_for("/wire.xml"))
    started = time.monotonic()
    docker("start", NAME)
    took = healthy_after(started)
    wait_for(lambda: posts_of(slack, LATE), 60, "the cut-short poll's story to reach Slack after the restart")
    wait_for(lambda: len(feeds.requests_for("/wire.xml")) >= polls + 2, 30, "two more polls")
    wait_for(outbox_empty, 60, "the outbox to empty")
    expect(posts_of(slack, LATE) == 1, "the cut-short poll's story reaches Slack once", posts_of(slack, LATE))
    expect(posts_of(slack, FIRST) == 1, "the state survives the restart", f"the first story {posts_of(slack, FIRST)}x")
    no_repeats(slack)
    ok("restart on the same volume", f"healthy in {took:.1f}s; the late story once, nothing earlier again")


def check_probe_time() -> None:
    timing = (
        "import statistics, subprocess, sys, time\n"
        "runs = []\n"
        "for _ in range(10):\n"
        "    t = time.perf_counter(); code = subprocess.run(sys.argv[1:], capture_output=True).returncode\n"
        "    runs.append(time.perf_counter() - t)\n"
        "print(code, round(statistics.median(runs) * 1000))\n"
    )
    probe = state("json .Config.Healthcheck.Test")
    command = json.loads(probe)[1:]
    expect(command[:3] == ["python", "-I", "-m"], "the HEALTHCHECK is the stdlib probe", command)
    results = {}
    for name, argv in (("HEALTHCHECK", command), ("monitor health", ["monitor", "health"])):
        code, ms = docker("exec", NAME, "python", "-c", timing, *argv).stdout.split()
        expect(code == "0", f"{name} passes", f"exit {code}")
        results[name] = int(ms)
    ok("HEALTHCHECK probe", ", ".join(f"{name}: {ms} ms" for name, ms in results.items()) + " (median of 10)")


def check_idle_stop() -> None:
    started = time.monotonic()
    docker("stop", NAME, timeout=30)  # Docker's default 10 s grace
    took = time.monotonic() - started
    code = state(".State.ExitCode")
    expect(code == "0" and took < 5, "docker stop of an idle daemon: exit 0 within 5 s", f"exit {code} in {took:.1f}s")
    ok("docker stop", f"{took:.1f}s, exit 0")


def check_root_owned_bind_mount(image: str, config: Path, scratch: Path) -> None:
    data = scratch / "root-owned-data"
    data.mkdir(mode=0o755)
    os.chown(data, 0, 0)
    run = [*RUN, "--rm", "--network", "host", "-v", f"{data}:/data", *config_args(config)]
    result = docker(*run, image, timeout=60, check=False)
    said = (result.stdout + result.stderr).strip()
    errors = [line for line in said.splitlines() if line.startswith("error:")]
    expect(result.returncode != 0, "a root-owned /data stops the daemon", f"exit {result.returncode}")
    expect(len(errors) == 1 and "monitor.db" in errors[0] and "Traceback" not in said, "one clear error line", said)
    # the store's message (monitor/store/faults.py): "... /config/data is owned by uid 0 and the
    # monitor runs as uid 10001: chown -R 10001 /config/data on the host, or run the container with --user 0"
    hint = f"runs as uid {UID}" in errors[0] and re.search(rf"chown (-R )?{UID} ", errors[0])
    expect(hint, f"the error names uid {UID} and the chown that fixes it", errors[0])
    ok("root-owned bind mount for /data", errors[0])


def check_postgres_variant(image: str, config: Path) -> None:
    loads = docker(*RUN, "--rm", "--network", "none", image, "python", "-c", "import psycopg, psycopg_pool")
    expect(loads.returncode == 0, "the variant has the driver", loads.stderr)
    try:
        import psycopg
        import psycopg.sql

        admin = psycopg.connect("postgresql:///postgres", autocommit=True, connect_timeout=3)
    except Exception as e:  # no server here: the driver loading is what can be checked
        ok("PostgreSQL variant: psycopg and psycopg_pool load", f"no server on the host to migrate ({e})")
        return
    password = os.urandom(12).hex()
    with admin:
        admin.execute("DROP DATABASE IF EXISTS monitor_ci")
        admin.execute("DROP ROLE IF EXISTS monitor_ci")
        admin.execute(psycopg.sql.SQL("CREATE ROLE monitor_ci LOGIN PASSWORD {}").format(password))
        admin.execute("CREATE DATABASE monitor_ci OWNER monitor_ci")
        try:
            url = f"postgresql://monitor_ci:{password}@127.0.0.1:5432/monitor_ci"
            run = [*RUN, "--rm", "--network", "host", "-e", f"MONITOR_DATABASE_URL={url}", *config_args(config)]
            result = docker(*run, image, "monitor", "migrate", check=False)
            said = (result.stdout + result.stderr).strip()
            expect(result.returncode == 0 and password not in said, "the variant migrates a PostgreSQL database", said)
        finally:
            admin.execute("DROP DATABASE IF EXISTS monitor_ci WITH (FORCE)")
            admin.execute("DROP ROLE IF EXISTS monitor_ci")
    ok("PostgreSQL variant: monitor migrate on the host's server", said.splitlines()[-1] if said else "")


# --- the run --------------------------------------------------------------------------------------


def write_config(folder: Path, feed_url: str, slack: SlackServer) -> Path:
    shutil.copytree(ROOT / "rules", folder / "rules")
    config = folder / "config.toml"
    config.write_text(
        f'[monitor]\ndatabase = "data/monitor.db"\ndefault_interval = "2s"\nhealth_port = {free_port()}\n\n'
        f'[[feeds]]\nname = "Pacific Tech Wire"\nurl = "{feed_url}"\n\n'
        f'[slack]\ntoken_env = "SLACK_BOT_TOKEN"\nchannel = "#ci-alerts"\nbase_url = "{slack.base_url}"\n',
        encoding="utf-8",
    )
    return config


def main(image: str, postgres_image: str) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="monitor-smoke-"))
    scratch.chmod(0o755)  # the config in it is read by uid 10001
    feeds, slack = FeedServer(), SlackServer()
    feeds.start()
    slack.start()
    try:
        url = feeds.add("/wire.xml", feed(LATE))
        config = write_config(scratch, url, slack)
        check_image(image, config)
        check_daemon(image, config, feeds, slack)
        check_sigterm_mid_poll(feeds, slack)
        check_probe_time()
        check_idle_stop()
        check_root_owned_bind_mount(image, config, scratch)
        check_postgres_variant(postgres_image, config)
    except Failed as e:
        print(f"container-check: FAILED  {e}", flush=True)
        logs = docker("logs", "--tail", "30", NAME, check=False)
        if logs.returncode == 0:
            print("--- last daemon log lines ---\n" + logs.stdout + logs.stderr, flush=True)
        return 1
    finally:
        docker("rm", "-f", NAME, check=False)
        docker("volume", "rm", "-f", VOLUME, check=False)
        feeds.stop()
        slack.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
