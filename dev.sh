#!/usr/bin/env bash
# sdf-lsp developer entry point.
#   ./dev.sh demo   set up .venv and check the bundled example (a broken one, then the fixed one)
#   ./dev.sh test   set up everything the tests need (apt as root, pip, npm) and run the whole suite
#   ./dev.sh setup  only set up everything
# Every step is idempotent; a failing step stops the script with its message.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=$ROOT/.venv
TOOLS=$ROOT/.tools

say() { printf '\033[1m[dev] %s\033[0m\n' "$*" >&2; }

python_setup() {
    local py=${PYTHON:-python3}
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "$py" -m venv "$VENV"
    fi
    "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
    say "installing sdf_lsp into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 | grep -v "is ignored" || true
    "$VENV/bin/python" -c 'import sdf_lsp, pygls, lxml, elftools, graphviz' # fails loudly if the install did not work
}

full_setup() {
    python_setup
    bash scripts/install-system.sh
    say "installing the test extras into $VENV"
    for req in scripts/requirements-*.txt; do
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$req" 2>&1 | grep -v "is ignored" || true
    done
    "$VENV/bin/python" -c 'import playwright, graphviz' # fails loudly if an extra is missing
    bash scripts/install-editors.sh
}

case "${1:-}" in
demo)
    python_setup
    say "checking examples/echo/echo_broken.system (four deliberate mistakes):"
    "$VENV/bin/sdf-lsp" check examples/echo/echo_broken.system && { say "expected errors were not found"; exit 1; } || true
    say "checking the fixed examples/echo/echo.system:"
    "$VENV/bin/sdf-lsp" check examples/echo/echo.system
    ;;
setup)
    full_setup
    ;;
test)
    full_setup
    say "running the test suite"
    shift || true
    exec "$VENV/bin/python" -m pytest -q "$@"
    ;;
*)
    echo "usage: $0 demo | test [pytest args] | setup" >&2
    exit 2
    ;;
esac
