#!/usr/bin/env bash
# Install the Debian packages the test suite needs, but only those that are missing.
# Runs apt-get directly as root, through sudo otherwise. Safe to run again and again.
# The cross compilers are one per row of codegen/primitives.py's arch table (amd64 is the host).
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_cmd gcc || need+=(gcc libc6-dev)
# triplet and Debian arch name of every cross target: gcc-<triplet>, libc6-dev-<debian arch>-cross
while read -r triplet debarch; do
  have_cmd "$triplet-gcc" || need+=("gcc-$triplet")
  [ -f "/usr/$triplet/include/stdio.h" ] || need+=("libc6-dev-$debarch-cross")
done <<'CROSS'
aarch64-linux-gnu arm64
riscv64-linux-gnu riscv64
i686-linux-gnu i386
arm-linux-gnueabihf armhf
powerpc64le-linux-gnu ppc64el
s390x-linux-gnu s390x
mips64el-linux-gnuabi64 mips64el
CROSS
have_cmd go || need+=(golang-go)
have_cmd qemu-aarch64 || need+=(qemu-user)
have_cmd pahole || need+=(dwarves)
have_cmd chromium || need+=(chromium)
have_cmd git || need+=(git)
# The generated Python packages' compiled runtime (_speedups.c) builds against the headers of the
# Python that runs the tests: Debian's python3-dev when that Python is the system's.
if [ -x .venv/bin/python ]; then
  include=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  [ -f "$include/Python.h" ] || need+=(python3-dev)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing missing Debian packages: ${need[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif have_cmd sudo; then
  as_root=(sudo)
else
  echo "bootstrap: need root or sudo to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
