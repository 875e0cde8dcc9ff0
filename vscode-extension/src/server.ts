// How the language server is started: `sdf.server.command`, or `<python> -m sdf_lsp serve`
// with the interpreter from `sdf.server.python`, the workspace's .venv, or python3.
import * as cp from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";

export interface ServerCommand {
  command: string;
  args: string[];
  /** set when the server runs as `<python> -m sdf_lsp serve` (then the package can be checked first) */
  python?: string;
  cwd?: string;
  /** where the command came from, for messages */
  origin: string;
}

export function workspaceRoot(): string | undefined {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const local = folders.find((f) => f.uri.scheme === "file");
  return local?.uri.fsPath;
}

/** `~`, `${workspaceFolder}`, `${userHome}` and paths relative to the workspace folder. */
export function expandPath(p: string, root: string | undefined, relative = true): string {
  let out = p.trim();
  if (root) {
    out = out.replace(/\$\{workspaceFolder\}/g, root);
  }
  out = out.replace(/\$\{userHome\}/g, os.homedir());
  if (out === "~" || out.startsWith("~/")) {
    out = path.join(os.homedir(), out.slice(1));
  }
  if (relative && root && (out.includes("/") || out.includes("\\")) && !path.isAbsolute(out)) {
    out = path.join(root, out);
  }
  return out;
}

/** Split a command line like a POSIX shell would for words and quotes (no expansions). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) {
        quote = undefined;
      } else if (ch === "\\" && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
        cur += line[++i];
      } else {
        cur += ch;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) {
        words.push(cur);
        cur = "";
        inWord = false;
      }
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) {
    words.push(cur);
  }
  return words;
}

function venvPython(folder: string): string | undefined {
  const candidates =
    process.platform === "win32"
      ? [path.join(folder, ".venv", "Scripts", "python.exe")]
      : [path.join(folder, ".venv", "bin", "python"), path.join(folder, ".venv", "bin", "python3")];
  return candidates.find((c) => fs.existsSync(c));
}

export function resolveServerCommand(): ServerCommand {
  const cfg = vscode.workspace.getConfiguration("sdf");
  const root = workspaceRoot();
  const raw = cfg.get<string[] | string>("server.command");
  const words = Array.isArray(raw) ? raw.filter((w) => typeof w === "string") : typeof raw === "string" ? splitCommandLine(raw) : [];
  if (words.length > 0 && words[0].trim() !== "") {
    return { command: expandPath(words[0], root), args: words.slice(1), cwd: root, origin: "sdf.server.command" };
  }
  const configured = (cfg.get<string>("server.python") ?? "").trim();
  if (configured) {
    const python = expandPath(configured, root);
    return { command: python, args: ["-m", "sdf_lsp", "serve"], python, cwd: root, origin: "sdf.server.python" };
  }
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== "file") {
      continue;
    }
    const python = venvPython(folder.uri.fsPath);
    if (python) {
      return { command: python, args: ["-m", "sdf_lsp", "serve"], python, cwd: root, origin: `the workspace's .venv` };
    }
  }
  const python = process.platform === "win32" ? "python" : "python3";
  return { command: python, args: ["-m", "sdf_lsp", "serve"], python, cwd: root, origin: "the default interpreter" };
}

export type PythonCheck = { ok: true } | { ok: false; message: string; detail: string };

/** Can `python` import the server? Tells the user exactly what is missing when not. */
export function checkPython(python: string, origin: string, cwd?: string): Promise<PythonCheck> {
  return new Promise((resolve) => {
    cp.execFile(
      python,
      ["-c", "import sdf_lsp, pygls, lsprotocol; print(sdf_lsp.__version__)"],
      { timeout: 60000, cwd, env: process.env },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ ok: true });
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          resolve({
            ok: false,
            message:
              `SDF: the Python interpreter '${python}' (from ${origin}) was not found. ` +
              `Set "sdf.server.python" to a Python 3.11+ interpreter that has the sdf_lsp package, ` +
              `or "sdf.server.command" to a command that starts the server.`,
            detail: String(err.message),
          });
          return;
        }
        const lines = String(stderr || err.message).trim().split(/\r?\n/);
        const last = lines[lines.length - 1] || String(err.message);
        const missing = /No module named '?([\w.]+)'?/.exec(last)?.[1];
        const what = missing ? `the Python package '${missing}' is not installed` : `'import sdf_lsp' failed (${last})`;
        resolve({
          ok: false,
          message:
            `SDF: the language server cannot start: ${what} for ${python} (from ${origin}). ` +
            `Install sdf_lsp into that interpreter, e.g. "${python} -m pip install -e <sdf-lsp checkout>", ` +
            `or set "sdf.server.python" to an interpreter that has it.`,
          detail: String(stderr || err.message),
        });
      },
    );
  });
}
