"""The locks (requirements/*.lock) agree with pyproject.toml: regenerate them with
`requirements/compile` after changing a dependency, and these tests say when that was forgotten."""

from __future__ import annotations

import re
import tomllib
from functools import cache

import pytest
from conftest import ROOT
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# lock -> the extras it is resolved with (requirements/compile)
LOCKS = {"runtime": (), "postgres": ("postgres",), "test": tuple(PROJECT["optional-dependencies"])}
ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?:\s*;\s*(.+?))?\s*\\?$")


@cache
def pins(lock: str) -> dict[str, str]:
    """Each package the lock installs on this interpreter, with its version; every one hash-checked."""
    text = (ROOT / "requirements" / f"{lock}.lock").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for entry in re.split(r"\n(?=[A-Za-z])", text.split("\n", 2)[2]):
        head = ENTRY.match(entry.splitlines()[0])
        assert head, f"{lock}.lock: not a pinned entry: {entry.splitlines()[0]}"
        assert "--hash=sha256:" in entry, f"{lock}.lock: {head.group(1)} has no hash"
        name, version, marker = head.groups()
        if marker is None or Marker(marker).evaluate():
            found[canonicalize_name(name)] = version
    return found


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's requirements with these extras, the project's own extras unfolded."""
    wanted = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        for requirement in map(Requirement, PROJECT["optional-dependencies"][extra]):
            if canonicalize_name(requirement.name) == PROJECT["name"]:
                wanted += requirements(tuple(requirement.extras))
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_satisfies_pyproject(lock: str) -> None:
    locked = pins(lock)
    for requirement in requirements(LOCKS[lock]):
        if requirement.marker and not requirement.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(requirement.name))
        assert version, f"{requirement.name} is not in {lock}.lock: run requirements/compile"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock}.lock has {requirement.name}=={version}, outside {requirement}: run requirements/compile"
        )


@pytest.mark.parametrize("lock", ["runtime", "postgres"])
def test_image_locks_agree_with_the_test_lock(lock: str) -> None:
    """The image installs the versions the tests ran with."""
    test = pins("test")
    assert {name: test.get(name) for name in pins(lock)} == pins(lock)


def test_the_runtime_lock_has_no_optional_packages() -> None:
    assert not {"psycopg", "psycopg-pool", "aiosmtpd", "pytest"} & set(pins("runtime"))
    assert {"psycopg", "psycopg-pool"} <= set(pins("postgres"))
