#!/bin/sh
# Put the language server into the extension: sdf_lsp (built from this repository) and its
# pure-Python dependencies, installed with `pip install --target bundled/libs`. The extension
# runs it with any Python >= 3.11 and PYTHONPATH=bundled/libs, so users install nothing else.
# Only wheels for any platform are accepted: one .vsix serves every OS and Python version.
#   PYTHON=/path/to/python3.11+ (with pip) overrides the interpreter; default: ../.venv, else python3.
set -eu
cd "$(dirname "$0")/.."
EXT=$PWD
ROOT=$(cd .. && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "bundling the server needs Python >= 3.11"'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip() { "$PYTHON" -m pip --disable-pip-version-check -q "$@" 2>&1 | grep -v "is ignored" || true; }
pip wheel --no-deps -w "$work/wheel" "$ROOT"
wheel=$(ls "$work"/wheel/sdf_lsp-*.whl)
pip install --no-compile --target "$work/libs" --only-binary=:all: --platform any --implementation py \
    --python-version 3.11 "$wheel"
[ -f "$work/libs/sdf_lsp/__init__.py" ] || { echo "bundling the server failed" >&2; exit 1; }
rm -rf "$work/libs/bin"
find "$work/libs" -name __pycache__ -type d -prune -exec rm -rf {} +
rm -rf "$EXT/bundled/libs"
mkdir -p "$EXT/bundled"
mv "$work/libs" "$EXT/bundled/libs"
echo "[dev] bundled the server: $(ls "$EXT/bundled/libs" | grep -v dist-info | tr '\n' ' ')" >&2
