"""Supply chain: CI installs exactly the reviewed, hashed lock, and nothing binary is committed.

Not checked here: that requirements.lock equals a fresh `make lock`. That needs PyPI (about
1.5 minutes), and its answer moves whenever PyPI publishes a release, so it would fail with no
change in the repository. The offline stand-in is below: the lock's direct dependencies are
exactly pyproject's, and each pin satisfies pyproject's range, so a pyproject edit that is not
followed by `make lock` fails here.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

LOCK = os.path.join(ROOT, "requirements.lock")
PYPROJECT = os.path.join(ROOT, "pyproject.toml")
# Distribution archives: code that would run without being reviewed as source.
ARCHIVE_SUFFIXES = (".whl", ".egg")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(\s*;[^\\]*)?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def lock_entries() -> list[tuple[str, list[str], list[str]]]:
    """(requirement, its option lines, its comments) per entry; continuation lines joined."""
    entries = []
    for line in open(LOCK, encoding="utf-8").read().splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not entries):
            continue
        if stripped.startswith("#"):
            entries[-1][2].append(stripped)
        elif line[0].isspace():
            assert entries, f"lock: continuation line with no requirement: {line!r}"
            entries[-1][1].append(stripped.rstrip("\\").strip())
        else:
            entries.append((stripped.rstrip("\\").strip(), [], []))
    return entries


def locked_versions() -> dict[str, str]:
    pins = {}
    for requirement, _, _ in lock_entries():
        match = PIN.match(requirement)
        assert match, f"lock: not a `name==version` pin: {requirement!r}"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def pyproject_requirements() -> list[Requirement]:
    """Main dependencies, the test extra and the build backend: all of what `make` installs."""
    with open(PYPROJECT, "rb") as f:
        project = tomllib.load(f)
    texts = (project["project"]["dependencies"]
             + project["project"]["optional-dependencies"]["test"]
             + project["build-system"]["requires"])
    # The lock is compiled for this interpreter: a requirement whose marker excludes it (tomli
    # before Python 3.11) is rightly absent.
    return [r for r in map(Requirement, texts) if r.marker is None or r.marker.evaluate()]


def test_no_distribution_archive_is_committed():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    committed = [f for f in files if f.lower().endswith(ARCHIVE_SUFFIXES)]
    assert committed == [], f"distribution archives committed (install them from the lock): {committed}"


def test_every_lock_entry_is_an_exact_pin_with_hashes():
    entries = lock_entries()
    assert entries, "requirements.lock holds no requirement"
    for requirement, options, _ in entries:
        # An option line (-e, -r, --index-url, a URL) could pull in what nobody hashed.
        assert PIN.match(requirement), f"lock: not a `name==version` pin: {requirement!r}"
        assert options, f"lock: {requirement} carries no --hash=sha256:"
        for option in options:
            assert HASH.match(option), f"lock: {requirement}: not a sha256 hash: {option!r}"


def test_lock_was_written_by_make_lock():
    header = open(LOCK, encoding="utf-8").read().split("\n\n")[0]
    assert re.search(r"^#\s+make lock$", header, re.M), "requirements.lock: regenerate it with `make lock`"


def test_every_pyproject_dependency_is_locked_in_its_range():
    pins = locked_versions()
    for requirement in pyproject_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} (pyproject.toml) is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {requirement}: run `make lock`")


def test_lock_names_no_direct_dependency_that_pyproject_dropped():
    # pip-compile marks each direct dependency "via layoutgen (pyproject.toml...)".
    direct = set()
    for requirement, _, comments in lock_entries():
        if any("layoutgen (pyproject.toml" in comment for comment in comments):
            direct.add(canonicalize_name(PIN.match(requirement).group(1)))
    wanted = {canonicalize_name(r.name) for r in pyproject_requirements()}
    assert direct == wanted, (f"direct dependencies: lock only {sorted(direct - wanted)}, "
                              f"pyproject only {sorted(wanted - direct)}: run `make lock`")


def test_bootstrap_installs_only_hashed_files_or_nothing():
    # `make -n -B` prints what the bootstrap would run, without running it.
    stamp = os.path.join(".venv", ".installed-stamp")
    commands = subprocess.run(["make", "-s", "-n", "-B", stamp], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.splitlines()
    installs = [c.split() for c in commands if re.search(r"\bpip install\b", c)]
    assert installs, f"the bootstrap runs no pip install: {commands}"
    for words in installs:
        hashed = "--require-hashes" in words and words[words.index("-r") + 1] == "requirements.lock"
        offline = {"--no-index", "--no-deps", "--no-build-isolation"} <= set(words)
        assert hashed or offline, f"bootstrap fetches unhashed packages: {' '.join(words)}"


def test_this_environment_runs_the_locked_versions():
    for name, version in locked_versions().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        assert installed == version, f"{name}: installed {installed}, locked {version}: run `make generate`"
