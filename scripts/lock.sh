#!/bin/sh
# Regenerates the hashed lock (default requirements.lock) from pyproject.toml: the main
# dependencies, the `test` extra and the build backend, every one pinned with `==` and the
# sha256 of every file PyPI holds for that version (all platforms and Python versions).
# Run it as `make lock`, then review the diff like code: `make` installs exactly this file.
set -eu

lock=${1:-requirements.lock}
python=${PYTHON:-python3}
# The lock tool is pinned so two people regenerating from one pyproject get one lock.
pip_tools=${PIP_TOOLS:-pip-tools==7.6.2}

cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Resolve against PyPI alone: a machine's own find-links, extra indexes and constraints must
# not decide which versions (or which files' hashes) the lock holds.
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_NO_INDEX PIP_REQUIREMENT
export PIP_CONFIG_FILE=/dev/null
index=https://pypi.org/simple

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --index-url "$index" "$pip_tools"

# --all-build-deps --allow-unsafe: setuptools (the build backend) is locked too, because
# `make` installs the project with --no-build-isolation instead of fetching it unpinned.
CUSTOM_COMPILE_COMMAND="make lock" "$tmp/venv/bin/pip-compile" --quiet \
    --generate-hashes --allow-unsafe --all-build-deps --extra test --strip-extras \
    --index-url "$index" --no-emit-index-url --no-emit-find-links \
    --output-file "$lock" pyproject.toml
echo "lock: wrote $lock"
