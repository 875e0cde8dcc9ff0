#!/usr/bin/env bash
# Debian packages the tests drive for real: Neovim 0.7, Chromium, Graphviz, cross compilers
# for the test programs, and libkrb5-dev (code-server builds its kerberos module from source).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t wanted < <(grep -hv '^\s*#' apt-*.txt | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "[dev] Debian packages present: ${wanted[*]}" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "[dev] need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "[dev] apt-get install ${missing[*]}" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
