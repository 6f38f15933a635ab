#!/usr/bin/env bash
# install-deps.sh - install the system packages Palisade's build needs (Debian/Ubuntu, apt-get).
#
# Idempotent and quick when everything is present: it asks dpkg first and runs `apt-get update` and
# `apt-get install` only for what is missing. Runs as root, or through sudo when available.
#
#   clang-19, lld-19, llvm-19     compiler, wasm-ld and tools for the wasm32 guest and the native builds
#   wasi-libc                     libc (malloc, string, math) for wasm32-wasi
#   libclang-rt-19-dev-wasm32     compiler-rt builtins for wasm32
#   libclang-rt-19-dev            ASan/UBSan/libFuzzer runtimes for the native test builds
#   make                          the build driver itself (normally present)
set -euo pipefail

PKGS=(clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32 libclang-rt-19-dev make)
# Extra packages can be added by later issues through this variable (space separated).
read -r -a EXTRA <<<"${PALISADE_EXTRA_PKGS:-}"
PKGS+=("${EXTRA[@]}")

missing=()
for p in "${PKGS[@]}"; do
	[ -n "$p" ] || continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

for tool in clang-19 wasm-ld-19; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "install-deps: $tool still not on PATH after installing" >&2
		exit 1
	fi
done
