// VS Code client for the sdf_lsp language server (seL4 Microkit System Description Files).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressReport,
} from "vscode-languageclient/node";
import { registerAutoClose } from "./autoclose";
import { GraphPanel, GraphView, MarkdownPanel } from "./panels";
import { checkPython, resolveServerCommand } from "./server";

const LANGUAGE = "sdf";

interface TargetInfo {
  label: string;
  arch: string;
  board?: string | null;
  config?: string | null;
  source: string;
  dialect?: string;
}

interface BuildResult {
  ok: boolean;
  outDir?: string;
  files?: string[];
  report?: string;
  message?: string;
  errors?: string[];
}

let client: LanguageClient | undefined;
let starting: Promise<LanguageClient | undefined> | undefined;
let startProblem: string | undefined;
let output: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
let target: TargetInfo | undefined;
let statusTimer: NodeJS.Timeout | undefined;

/** The `sdf` settings as the server reads them (initializationOptions and didChangeConfiguration). */
function sdfSettings(): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration("sdf");
  return {
    target: {
      file: cfg.get<string>("target.file", ""),
      board: cfg.get<string>("target.board", ""),
      config: cfg.get<string>("target.config", "release"),
      sdk: cfg.get<string>("target.sdk", ""),
    },
    searchPaths: cfg.get<string[]>("searchPaths", []),
    dialect: cfg.get<string>("dialect", "extended"),
    hints: { authority: cfg.get<boolean>("hints.authority", true) },
    build: { outDir: cfg.get<string>("build.outDir", "") },
  };
}

// -- the client -----------------------------------------------------------------------------
async function createClient(): Promise<LanguageClient | undefined> {
  const server = resolveServerCommand();
  output.info(`starting the server: ${[server.command, ...server.args].join(" ")} (from ${server.origin})`);
  if (server.python) {
    const check = await checkPython(server.python, server.origin, server.cwd);
    if (!check.ok) {
      startProblem = check.message;
      output.error(check.message);
      output.error(check.detail);
      updateStatus();
      void vscode.window.showErrorMessage(check.message, "Open Settings", "Show Log").then((choice) => {
        if (choice === "Open Settings") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "sdf.server");
        } else if (choice === "Show Log") {
          output.show(true);
        }
      });
      return undefined;
    }
  }
  // stdio without a transport option: the server takes no `--stdio` argument
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    options: { cwd: server.cwd, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: LANGUAGE },
      { scheme: "untitled", language: LANGUAGE },
    ],
    synchronize: { configurationSection: "sdf" },
    initializationOptions: () => ({ sdf: sdfSettings() }),
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  const c = new LanguageClient("sdf", "SDF Language Server", serverOptions, clientOptions);
  c.onDidChangeState((e) => {
    if (e.newState === State.Running) {
      startProblem = undefined;
      scheduleTargetRefresh(0);
    } else if (e.newState === State.Stopped) {
      target = undefined;
      updateStatus();
    }
  });
  try {
    await c.start();
  } catch (err) {
    startProblem = `SDF: the language server did not start: ${err instanceof Error ? err.message : String(err)}`;
    output.error(startProblem);
    updateStatus();
    void vscode.window.showErrorMessage(startProblem, "Show Log").then((choice) => {
      if (choice) {
        output.show(true);
      }
    });
    return undefined;
  }
  return c;
}

function startClient(): Promise<LanguageClient | undefined> {
  startProblem = undefined;
  starting = createClient().then((c) => {
    client = c;
    return c;
  });
  return starting;
}

async function stopClient(): Promise<void> {
  const c = client ?? (await starting);
  client = undefined;
  starting = undefined;
  if (c) {
    try {
      await c.dispose(5000);
    } catch (err) {
      output.warn(`stopping the server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

async function restartClient(): Promise<void> {
  await stopClient();
  await startClient();
}

async function runningClient(): Promise<LanguageClient> {
  const c = client ?? (await starting);
  if (!c || c.state !== State.Running) {
    throw new Error(startProblem ?? "SDF: the language server is not running (SDF: Restart Language Server).");
  }
  return c;
}

async function serverCommand<T>(command: string, args: object, workDoneToken?: string): Promise<T> {
  const c = await runningClient();
  return c.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args], workDoneToken }) as Promise<T>;
}

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith("SDF:") ? msg : `SDF: ${msg}`;
}

// -- status bar -----------------------------------------------------------------------------
function updateStatus(): void {
  const editor = vscode.window.activeTextEditor;
  const visible = editor?.document.languageId === LANGUAGE;
  if (startProblem) {
    status.text = "$(error) SDF";
    status.tooltip = startProblem;
    status.command = "sdf-lsp.showOutput";
  } else if (target) {
    status.text = `$(circuit-board) ${target.label}`;
    const md = new vscode.MarkdownString(
      `**SDF target** ${target.label}\n\n` +
        `arch \`${target.arch}\`, from ${target.source}` +
        (target.dialect ? `, dialect \`${target.dialect}\`` : "") +
        `\n\nClick to change the \`sdf.target\` settings.`,
    );
    status.tooltip = md;
    status.command = { title: "SDF target settings", command: "workbench.action.openSettings", arguments: ["sdf.target"] };
  } else {
    status.text = "$(loading~spin) SDF";
    status.tooltip = "SDF: starting the language server";
    status.command = "sdf-lsp.showOutput";
  }
  if (visible) {
    status.show();
  } else {
    status.hide();
  }
}

async function refreshTarget(): Promise<void> {
  try {
    target = await serverCommand<TargetInfo>("sdf.describeTarget", {});
  } catch (err) {
    output.warn(`describeTarget: ${err instanceof Error ? err.message : String(err)}`);
    target = undefined;
  }
  updateStatus();
}

function scheduleTargetRefresh(delay = 300): void {
  if (statusTimer) {
    clearTimeout(statusTimer);
  }
  // after the configuration notification the client sends on the same change
  statusTimer = setTimeout(() => void refreshTarget(), delay);
}

// -- commands -------------------------------------------------------------------------------
function activeSdfEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor && editor.document.languageId === LANGUAGE) {
    return editor;
  }
  return vscode.window.visibleTextEditors.find((e) => e.document.languageId === LANGUAGE);
}

function needEditor(): vscode.TextEditor | undefined {
  const editor = activeSdfEditor();
  if (!editor) {
    void vscode.window.showWarningMessage("SDF: open a .system file first.");
  }
  return editor;
}

async function showCSpace(panel: MarkdownPanel, pd?: string): Promise<void> {
  const editor = needEditor();
  if (!editor) {
    return;
  }
  const uri = editor.document.uri.toString();
  const args =
    typeof pd === "string" && pd
      ? { uri, pd }
      : { uri, position: { line: editor.selection.active.line, character: editor.selection.active.character } };
  try {
    const markdown = await serverCommand<string>("sdf.showCSpace", args);
    const name = /CSpace of `([^`]+)`/.exec(markdown)?.[1] ?? pd ?? "";
    await panel.show(`CSpace${name ? ` of ${name}` : ""}`, markdown);
  } catch (err) {
    void vscode.window.showErrorMessage(errorText(err));
  }
}

function isFile(p: string | undefined): boolean {
  try {
    return !!p && fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

async function openReport(result: BuildResult): Promise<void> {
  const report = result.report;
  if (isFile(report)) {
    await vscode.window.showTextDocument(vscode.Uri.file(report as string), { preview: false });
  } else if (result.outDir && isFile(path.join(result.outDir, "report.txt"))) {
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(result.outDir, "report.txt")), { preview: false });
  } else if (report) {
    const doc = await vscode.workspace.openTextDocument({ content: report, language: "plaintext" });
    await vscode.window.showTextDocument(doc, { preview: false });
  }
}

async function revealFolder(dir: string): Promise<void> {
  const uri = vscode.Uri.file(dir);
  if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand("revealInExplorer", uri);
  } else {
    await vscode.commands.executeCommand("revealFileInOS", uri);
  }
}

async function build(): Promise<BuildResult | undefined> {
  const editor = needEditor();
  if (!editor) {
    return undefined;
  }
  const doc = editor.document;
  if (doc.isDirty && !doc.isUntitled) {
    await doc.save();
  }
  const name = path.basename(doc.uri.fsPath || doc.uri.path);
  // the output folder comes from the server's copy of `sdf.build.outDir`
  const args: Record<string, unknown> = { uri: doc.uri.toString() };
  let result: BuildResult;
  try {
    result = await vscode.window.withProgress(
      // a spinner in the status bar; the server reports its steps in a notification of its own
      { location: vscode.ProgressLocation.Window, title: `SDF: building ${name}`, cancellable: false },
      async (progress) => {
        const token = crypto.randomUUID();
        const c = await runningClient();
        let done = 0;
        const sub = c.onProgress(WorkDoneProgress.type, token, (value) => {
          if (value.kind === "end") {
            return;
          }
          const v = value as WorkDoneProgressBegin | WorkDoneProgressReport;
          const pct = typeof v.percentage === "number" ? v.percentage : undefined;
          const increment = pct !== undefined && pct > done ? pct - done : undefined;
          if (pct !== undefined) {
            done = Math.max(done, pct);
          }
          progress.report({ message: v.message, increment });
        });
        try {
          return await serverCommand<BuildResult>("sdf.build", args, token);
        } finally {
          sub.dispose();
        }
      },
    );
  } catch (err) {
    const msg = errorText(err);
    output.error(msg);
    void vscode.window.showErrorMessage(msg, "Show Log").then((choice) => {
      if (choice) {
        output.show(true);
      }
    });
    return undefined;
  }
  const files = result.files ?? [];
  output.info(`build of ${name}: ${result.ok ? "ok" : "failed"}, ${files.length} files in ${result.outDir ?? "?"}`);
  for (const f of files) {
    output.info(`  ${f}`);
  }
  const actions: string[] = [];
  if (isFile(result.report) || (result.outDir && isFile(path.join(result.outDir, "report.txt")))) {
    actions.push("Open Report");
  }
  if (result.ok && result.outDir) {
    actions.push("Reveal Output Folder");
  }
  if (!result.ok) {
    actions.push("Show Problems");
  }
  const pick = (choice: string | undefined) => {
    if (choice === "Open Report") {
      void openReport(result);
    } else if (choice === "Reveal Output Folder" && result.outDir) {
      void revealFolder(result.outDir);
    } else if (choice === "Show Problems") {
      void vscode.commands.executeCommand("workbench.actions.view.problems");
    }
  };
  if (result.ok) {
    const where = result.outDir ? ` in ${vscode.workspace.asRelativePath(result.outDir)}` : "";
    void vscode.window.showInformationMessage(`SDF: built ${name}: ${files.length} files${where}`, ...actions).then(pick);
  } else {
    const why = result.errors?.[0] ?? result.message ?? "see the Problems panel";
    void vscode.window.showErrorMessage(`SDF: build of ${name} failed: ${why}`, ...actions).then(pick);
  }
  return result;
}

// -- activation -----------------------------------------------------------------------------
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("SDF Language Server", { log: true });
  status = vscode.window.createStatusBarItem("sdf-lsp.target", vscode.StatusBarAlignment.Right, 100);
  status.name = "SDF target";
  const cspace = new MarkdownPanel("sdf-lsp.cspace");
  const graph = new GraphPanel(
    (uri, view) => serverCommand<string>("sdf.showGraph", { uri: uri.toString(), view }),
    (msg) => output.warn(msg),
  );
  context.subscriptions.push(
    output,
    status,
    graph,
    { dispose: () => cspace.dispose() },
    registerAutoClose(),
    vscode.commands.registerCommand("sdf-lsp.restartServer", async () => {
      await restartClient();
      if (client) {
        void vscode.window.showInformationMessage("SDF: language server restarted.");
      }
    }),
    vscode.commands.registerCommand("sdf-lsp.showOutput", () => output.show(true)),
    vscode.commands.registerCommand("sdf-lsp.showCSpace", (pd?: unknown) => showCSpace(cspace, typeof pd === "string" ? pd : undefined)),
    vscode.commands.registerCommand("sdf-lsp.build", () => build()),
    vscode.commands.registerCommand("sdf-lsp.showGraph", async (view?: unknown) => {
      const editor = needEditor();
      if (editor) {
        await graph.show(editor.document.uri, view === "memory" || view === "authority" ? (view as GraphView) : undefined);
      }
    }),
    vscode.window.onDidChangeActiveTextEditor(() => updateStatus()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("sdf.server")) {
        output.info("server settings changed: restarting the server");
        void restartClient();
      } else if (e.affectsConfiguration("sdf")) {
        scheduleTargetRefresh();
        void graph.refresh();
      }
    }),
    { dispose: () => void stopClient() },
  );
  updateStatus();
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
