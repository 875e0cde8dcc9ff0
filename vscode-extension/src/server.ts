// How the language server is started.
//
// The extension carries the server: `bundled/libs` holds the Python package sdf_lsp and its
// pure-Python dependencies (installed there with `pip install --target` when the extension is
// packaged). It runs as `<python> -m sdf_lsp serve` with PYTHONPATH pointing at bundled/libs,
// where <python> is `sdf.server.python`, else the first Python >= 3.11 on PATH. With
// `sdf.server.importStrategy: fromEnvironment` the interpreter's own sdf_lsp is used instead,
// and `sdf.server.command` replaces the whole command line.
import * as cp from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";

export const MIN_PYTHON: [number, number] = [3, 11];
export const PYTHON_DOWNLOAD = "https://www.python.org/downloads/";

export interface ServerCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** set when the server runs as `<python> -m sdf_lsp serve` (then it can be checked first) */
  python?: string;
  /** where the command came from, for messages */
  origin: string;
  /** whether sdf_lsp comes from the extension's bundled/libs */
  bundled: boolean;
}

/** Why no server command could be made; `kind` picks the buttons the user is offered. */
export class ServerProblem extends Error {
  constructor(
    message: string,
    readonly kind: "noPython" | "oldPython" | "notFound" | "notInstalled",
    readonly detail = "",
  ) {
    super(message);
  }
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

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string, timeout = 20000) {
  return new Promise<{ ok: boolean; stdout: string; stderr: string; code?: string }>((resolve) => {
    cp.execFile(command, args, { timeout, cwd, env, windowsHide: true }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr), code: (err as NodeJS.ErrnoException | null)?.code });
    });
  });
}

const VERSION_PROBE = ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"];

/** `[major, minor, patch]` and the real executable of an interpreter, or undefined when it does not run. */
async function pythonVersion(command: string, pre: string[], env: NodeJS.ProcessEnv) {
  const r = await run(command, [...pre, ...VERSION_PROBE], env);
  if (!r.ok) {
    return undefined;
  }
  const [version, executable] = r.stdout.trim().split(/\r?\n/);
  const parts = (version ?? "").split(".").map((n) => parseInt(n, 10));
  return parts.length === 3 && parts.every((n) => !isNaN(n)) ? { parts, executable: executable || command } : undefined;
}

function newEnough(parts: number[]): boolean {
  return parts[0] > MIN_PYTHON[0] || (parts[0] === MIN_PYTHON[0] && parts[1] >= MIN_PYTHON[1]);
}

/** Interpreters tried, in order, when `sdf.server.python` is empty. */
export function pythonCandidates(): { command: string; pre: string[] }[] {
  if (process.platform === "win32") {
    return [
      { command: "py", pre: ["-3"] },
      { command: "python", pre: [] },
      { command: "python3", pre: [] },
    ];
  }
  return ["python3.13", "python3.12", "python3.11", "python3", "python"].map((command) => ({ command, pre: [] }));
}

/** The first Python >= 3.11 on PATH (a shim that fails, e.g. pyenv's for an inactive version, is skipped). */
async function findPython(env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<string> {
  const tried: string[] = [];
  for (const { command, pre } of pythonCandidates()) {
    const name = [command, ...pre].join(" ");
    const found = await pythonVersion(command, pre, env);
    if (!found) {
      tried.push(`${name}: not found`);
      continue;
    }
    if (newEnough(found.parts)) {
      log(`using ${name} (Python ${found.parts.join(".")}, ${found.executable})`);
      return found.executable;
    }
    tried.push(`${name}: Python ${found.parts.join(".")}`);
  }
  throw new ServerProblem(
    `SDF: the language server needs Python ${MIN_PYTHON.join(".")} or newer, and none was found on PATH ` +
      `(${tried.join("; ")}). Install Python, or set "sdf.server.python" to an interpreter.`,
    "noPython",
  );
}

export function bundledLibs(extensionPath: string): string {
  return path.join(extensionPath, "bundled", "libs");
}

export async function resolveServerCommand(extensionPath: string, log: (msg: string) => void): Promise<ServerCommand> {
  const cfg = vscode.workspace.getConfiguration("sdf");
  const root = workspaceRoot();
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: "1", SDF_LSP_LOG_LEVEL: "INFO" };
  const raw = cfg.get<string[] | string>("server.command");
  const words = Array.isArray(raw) ? raw.filter((w) => typeof w === "string") : typeof raw === "string" ? splitCommandLine(raw) : [];
  if (words.length > 0 && words[0].trim() !== "") {
    return { command: expandPath(words[0], root), args: words.slice(1), env, cwd: root, origin: "sdf.server.command", bundled: false };
  }
  const configured = (cfg.get<string>("server.python") ?? "").trim();
  let python: string;
  let origin: string;
  if (configured) {
    python = expandPath(configured, root);
    origin = "sdf.server.python";
    const found = await pythonVersion(python, [], env);
    if (!found) {
      throw new ServerProblem(
        `SDF: the Python interpreter '${python}' (from sdf.server.python) was not found or does not run. ` +
          `Set "sdf.server.python" to a Python ${MIN_PYTHON.join(".")}+ interpreter, or leave it empty to use one from PATH.`,
        "notFound",
      );
    }
    if (!newEnough(found.parts)) {
      throw new ServerProblem(
        `SDF: '${python}' (from sdf.server.python) is Python ${found.parts.join(".")}; the language server needs ` +
          `Python ${MIN_PYTHON.join(".")} or newer.`,
        "oldPython",
      );
    }
  } else {
    python = await findPython(env, log);
    origin = "PATH";
  }
  const libs = bundledLibs(extensionPath);
  const strategy = cfg.get<string>("server.importStrategy", "useBundled");
  let bundled = false;
  if (strategy !== "fromEnvironment") {
    if (fs.existsSync(path.join(libs, "sdf_lsp", "__init__.py"))) {
      env.PYTHONPATH = [libs, process.env.PYTHONPATH].filter((p) => p).join(path.delimiter);
      bundled = true;
    } else {
      log(`this package of the extension has no bundled server (${libs}): using ${python}'s own sdf_lsp`);
    }
  }
  return { command: python, args: ["-m", "sdf_lsp", "serve"], env, python, cwd: root, origin, bundled };
}

/** Can the interpreter import the server (with the environment it will run in)? */
export async function checkServer(server: ServerCommand): Promise<void> {
  if (!server.python) {
    return;
  }
  const r = await run(server.python, ["-c", "import sdf_lsp, pygls, lsprotocol; print(sdf_lsp.__version__)"], server.env, server.cwd, 60000);
  if (r.ok) {
    return;
  }
  const lines = (r.stderr || "").trim().split(/\r?\n/);
  const last = lines[lines.length - 1] || "";
  const missing = /No module named '?([\w.]+)'?/.exec(last)?.[1];
  const what = missing ? `the Python package '${missing}' is not installed` : `'import sdf_lsp' failed (${last})`;
  const fix = server.bundled
    ? `The extension's bundled server is incomplete: reinstall the extension.`
    : `Install it into that interpreter ("${server.python} -m pip install sdf-lsp"), or set "sdf.server.importStrategy" to ` +
      `"useBundled" to use the server that comes with the extension.`;
  throw new ServerProblem(`SDF: the language server cannot start: ${what} for ${server.python} (from ${server.origin}). ${fix}`, "notInstalled", r.stderr);
}

const LEVEL = /^(DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

/** A sink for the server's stderr: each line at the level it starts with (see sdf_lsp/serverlog.py);
 * lines without one (a traceback's) keep the level of the line before. */
export function levelledLines(channel: vscode.LogOutputChannel): (line: string) => void {
  let level = "ERROR";
  return (line: string) => {
    const m = LEVEL.exec(line);
    if (m) {
      level = m[1];
      line = line.slice(m[0].length);
    }
    switch (level) {
      case "DEBUG":
        channel.debug(line);
        break;
      case "INFO":
        channel.info(line);
        break;
      case "WARNING":
        channel.warn(line);
        break;
      default:
        channel.error(line);
    }
  };
}
