// VS Code client for the sdf_lsp language server (seL4 Microkit System Description Files).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
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
import { checkServer, levelledLines, PYTHON_DOWNLOAD, resolveServerCommand, ServerProblem } from "./server";

const LANGUAGE = "sdf";

interface TargetInfo {
  label: string;
  arch: string;
  board?: string | null;
  config?: string | null;
  source: string;
  dialect?: string;
  /** why the configured target was not used (the status bar then warns) */
  problem?: string | null;
  /** the Microkit SDK in use, if any */
  sdk?: string | null;
}

interface BoardInfo {
  board: string;
  source: "sdk" | "builtin";
  configs: string[];
  arch?: string | null;
}

interface BuildResult {
  ok: boolean;
  outDir?: string;
  files?: string[];
  report?: string;
  message?: string;
  errors?: string[];
  needsSdk?: boolean;
}

let client: LanguageClient | undefined;
let starting: Promise<LanguageClient | undefined> | undefined;
let startProblem: string | undefined;
let output: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
let target: TargetInfo | undefined;
let statusTimer: NodeJS.Timeout | undefined;
let extensionPath = "";

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
    dialect: chosenDialect(cfg),
    hints: { authority: cfg.get<boolean>("hints.authority", true) },
    build: { outDir: cfg.get<string>("build.outDir", "") },
    workspace: { check: cfg.get<boolean>("workspace.check", true) },
  };
}

/** The dialect the user set, or "" when none is set: the server then follows the SDK's VERSION. */
function chosenDialect(cfg: vscode.WorkspaceConfiguration): string {
  const i = cfg.inspect<string>("dialect");
  return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue ?? "";
}

// -- the client -----------------------------------------------------------------------------
async function createClient(): Promise<LanguageClient | undefined> {
  let server;
  try {
    server = await resolveServerCommand(extensionPath, (msg) => output.info(msg));
    output.info(
      `starting the server: ${[server.command, ...server.args].join(" ")} (from ${server.origin}` +
        `${server.bundled ? ", sdf_lsp bundled with the extension" : ""})`,
    );
    await checkServer(server);
  } catch (err) {
    startProblem = err instanceof Error ? err.message : String(err);
    output.error(startProblem);
    if (err instanceof ServerProblem && err.detail) {
      output.debug(err.detail); // the interpreter's own words (a traceback): only at the debug level
    }
    updateStatus();
    const kind = err instanceof ServerProblem ? err.kind : "notInstalled";
    const buttons = kind === "noPython" || kind === "oldPython" ? ["Download Python", "Open Settings"] : ["Open Settings", "Show Log"];
    void vscode.window.showErrorMessage(startProblem, ...buttons).then((choice) => {
      if (choice === "Open Settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "sdf.server");
      } else if (choice === "Download Python") {
        void vscode.env.openExternal(vscode.Uri.parse(PYTHON_DOWNLOAD));
      } else if (choice === "Show Log") {
        output.show(true);
      }
    });
    return undefined;
  }
  // stdio without a transport option: `sdf-lsp serve` speaks LSP on stdin/stdout by default
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    options: { cwd: server.cwd, env: server.env },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: LANGUAGE },
      { scheme: "untitled", language: LANGUAGE },
    ],
    // an sdf-lsp.toml edited on disk applies to the open systems at once
    synchronize: {
      configurationSection: "sdf",
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{sdf-lsp,.sdf-lsp}.toml"),
    },
    initializationOptions: () => ({ sdf: sdfSettings() }),
    // the server's code lenses name commands with JSON arguments: give them VS Code's own types
    middleware: {
      provideCodeLenses: async (document, token, next) => (await next(document, token))?.map(clientLens),
      resolveCodeLens: async (lens, token, next) => {
        const resolved = await next(lens, token);
        return resolved ? clientLens(resolved) : resolved;
      },
    },
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    // the server starts each log line with its level: file it at that level, not all as errors
    stdioOptions: {
      stdout: (input, channel) => lines(input, (line) => channel.info(line)),
      stderr: (input, channel) => lines(input, levelledLines(channel)),
    },
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

interface JsonPosition {
  line: number;
  character: number;
}

interface JsonLocation {
  uri: string;
  range: { start: JsonPosition; end: JsonPosition };
}

/** A lens as VS Code runs it: *Find references* with a Uri, a Position and Locations (the server
 * sends them as JSON), *Show CSpace* as the extension's command, which shows the table. */
function clientLens(lens: vscode.CodeLens): vscode.CodeLens {
  const cmd = lens.command;
  if (!cmd) {
    return lens;
  }
  const args = cmd.arguments ?? [];
  if (cmd.command === "editor.action.showReferences" && typeof args[0] === "string") {
    const [uri, at, locations] = args as [string, JsonPosition, JsonLocation[]];
    const range = (r: JsonLocation["range"]) => new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
    lens.command = {
      title: cmd.title,
      command: cmd.command,
      arguments: [
        vscode.Uri.parse(uri),
        new vscode.Position(at.line, at.character),
        (locations ?? []).map((l) => new vscode.Location(vscode.Uri.parse(l.uri), range(l.range))),
      ],
    };
  } else if (cmd.command === "sdf.showCSpace") {
    const a = (args[0] ?? {}) as { uri?: string; pd?: string };
    lens.command = { title: cmd.title, command: "sdf-lsp.showCSpace", arguments: [a.pd, a.uri] };
  }
  return lens;
}

function lines(input: NodeJS.ReadableStream, sink: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on("line", sink);
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
  status.backgroundColor = undefined;
  if (startProblem) {
    status.text = "$(error) SDF";
    status.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    status.tooltip = startProblem;
    status.command = "sdf-lsp.showOutput";
  } else if (target) {
    const problem = target.problem ?? undefined;
    const dialect = target.dialect ? ` · ${target.dialect}` : "";
    status.text = `${problem ? "$(warning)" : "$(circuit-board)"} ${target.label}${dialect}`;
    status.backgroundColor = problem ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    const md = new vscode.MarkdownString(
      `**SDF target** ${target.label}\n\n` +
        (problem ? `$(warning) ${problem}\n\n` : "") +
        `arch \`${target.arch}\`, from ${target.source}` +
        (target.sdk ? `, SDK \`${target.sdk}\`` : "") +
        (target.dialect ? `, dialect \`${target.dialect}\`` : "") +
        `\n\nClick to select the target board.`,
      true,
    );
    status.tooltip = md;
    status.command = "sdf-lsp.selectTarget";
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
    // the active system's target: its sdf-lsp.toml may name another than the settings
    const doc = vscode.window.activeTextEditor?.document;
    const args = doc && doc.languageId === LANGUAGE ? { uri: doc.uri.toString() } : {};
    target = await serverCommand<TargetInfo>("sdf.describeTarget", args);
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

async function showCSpace(panel: MarkdownPanel, pd?: string, document?: string): Promise<void> {
  let args: object;
  if (pd && document) {
    args = { uri: document, pd }; // from a code lens: its document and PD
  } else {
    const editor = needEditor();
    if (!editor) {
      return;
    }
    const uri = editor.document.uri.toString();
    const at = editor.selection.active;
    args = pd ? { uri, pd } : { uri, position: { line: at.line, character: at.character } };
  }
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
  if (result.needsSdk) {
    const why = result.errors?.[0] ?? "building needs a Microkit SDK";
    output.warn(`build of ${name}: ${why}`);
    const choice = await vscode.window.showErrorMessage(`SDF: cannot build ${name}: ${why}`, SELECT_SDK, "Open Settings");
    if (choice === SELECT_SDK) {
      if (await selectSdk()) {
        return build();
      }
    } else if (choice === "Open Settings") {
      void vscode.commands.executeCommand("workbench.action.openSettings", "sdf.target");
    }
    return result;
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

// -- target and SDK -------------------------------------------------------------------------
const SELECT_SDK = "Select Microkit SDK…";

function settingsScope(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/** A folder picker for the Microkit SDK; writes `sdf.target.sdk` and makes sure the board is one of its boards. */
async function selectSdk(): Promise<boolean> {
  const cfg = vscode.workspace.getConfiguration("sdf");
  const current = cfg.get<string>("target.sdk", "") || process.env.MICROKIT_SDK || "";
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: "Use this Microkit SDK",
    title: "Select a Microkit SDK folder (the one with board/<board>/<config>/)",
    defaultUri: current && fs.existsSync(current) ? vscode.Uri.file(current) : undefined,
  });
  if (!picked || picked.length === 0) {
    return false;
  }
  const dir = picked[0].fsPath;
  if (!fs.existsSync(path.join(dir, "board"))) {
    void vscode.window.showWarningMessage(`SDF: ${dir} is not a Microkit SDK: it has no board/ folder.`);
    return false;
  }
  // the board first, so that the server never sees the SDK without one of its boards
  const boards = (await serverCommand<BoardInfo[]>("sdf.listBoards", { sdk: dir })).filter((b) => b.source === "sdk");
  const board = cfg.get<string>("target.board", "") || "qemu_virt_aarch64";
  const config = cfg.get<string>("target.config", "release");
  const same = boards.find((b) => b.board === board);
  if (same && same.configs.includes(config)) {
    if (!cfg.get<string>("target.board", "")) {
      await cfg.update("target.board", board, settingsScope());
    }
  } else if (boards.length === 1) {
    await writeTarget(boards[0], boards[0].configs.includes(config) ? config : boards[0].configs[0]);
  } else if (!(await selectTarget(dir, true))) {
    return false;
  }
  await cfg.update("target.sdk", dir, settingsScope());
  output.info(`sdf.target.sdk set to ${dir}`);
  return true;
}

async function writeTarget(board: BoardInfo, config: string): Promise<void> {
  const cfg = vscode.workspace.getConfiguration("sdf");
  await cfg.update("target.board", board.board, settingsScope());
  await cfg.update("target.config", config, settingsScope());
  output.info(`target set to ${board.board} (${config})`);
  if (cfg.get<string>("target.file", "")) {
    void vscode.window.showWarningMessage(`SDF: "sdf.target.file" is set and takes precedence over the board.`);
  }
}

/** *SDF: Select target*: the boards of the SDK (if any) and the built-in table, then a config. */
async function selectTarget(sdk?: string, sdkOnly = false): Promise<boolean> {
  const cfg = vscode.workspace.getConfiguration("sdf");
  let boards: BoardInfo[];
  try {
    boards = await serverCommand<BoardInfo[]>("sdf.listBoards", sdk ? { sdk } : {});
  } catch (err) {
    void vscode.window.showErrorMessage(errorText(err));
    return false;
  }
  const currentBoard = cfg.get<string>("target.board", "") || "qemu_virt_aarch64";
  const sdkDir = sdk ?? (target?.sdk || cfg.get<string>("target.sdk", "") || undefined);
  type Item = vscode.QuickPickItem & { info?: BoardInfo };
  const items: Item[] = [];
  const section = (label: string, list: BoardInfo[]) => {
    if (list.length) {
      items.push({ label, kind: vscode.QuickPickItemKind.Separator });
      for (const b of list) {
        items.push({
          label: b.board,
          description: [b.arch, b.board === currentBoard ? "current" : ""].filter((x) => x).join(" · "),
          detail: b.configs.join(", "),
          info: b,
        });
      }
    }
  };
  section(`Microkit SDK ${sdkDir ?? ""}`.trim(), boards.filter((b) => b.source === "sdk"));
  if (!sdkOnly) {
    section("Built-in boards (checking; building needs an SDK)", boards.filter((b) => b.source === "builtin"));
  }
  const pick = await vscode.window.showQuickPick(items, {
    title: "SDF: Select target board",
    placeHolder: `board (now ${currentBoard})`,
    matchOnDetail: true,
  });
  if (!pick?.info) {
    return false;
  }
  const board = pick.info;
  const config = cfg.get<string>("target.config", "release");
  let chosen = config;
  if (board.configs.length > 1) {
    const ordered = [...board.configs].sort((a, b) => (a === config ? -1 : b === config ? 1 : 0));
    const c = await vscode.window.showQuickPick(ordered, { title: `SDF: Kernel configuration of ${board.board}`, placeHolder: `config (now ${config})` });
    if (!c) {
      return false;
    }
    chosen = c;
  } else if (board.configs.length === 1) {
    chosen = board.configs[0];
  }
  if (board.source === "builtin" && cfg.get<string>("target.sdk", "")) {
    const inSdk = boards.some((b) => b.source === "sdk" && b.board === board.board);
    if (!inSdk) {
      await cfg.update("target.sdk", undefined, settingsScope());
      void vscode.window.showInformationMessage(`SDF: ${board.board} is not in the Microkit SDK: checking with the built-in table; building needs an SDK with that board.`);
    }
  }
  await writeTarget(board, chosen);
  return true;
}

// -- activation -----------------------------------------------------------------------------
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionPath = context.extensionPath;
  output = vscode.window.createOutputChannel("SDF Language Server", { log: true });
  status = vscode.window.createStatusBarItem("sdf-lsp.target", vscode.StatusBarAlignment.Right, 100);
  status.name = "SDF target";
  const cspace = new MarkdownPanel("sdf-lsp.cspace");
  const graph = new GraphPanel(
    context.extensionUri,
    (uri, view) => serverCommand<string>("sdf.showGraph", { uri: uri.toString(), view, format: "dot" }),
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
    vscode.commands.registerCommand("sdf-lsp.showCSpace", (pd?: unknown, uri?: unknown) =>
      showCSpace(cspace, typeof pd === "string" ? pd : undefined, typeof pd === "string" && typeof uri === "string" ? uri : undefined),
    ),
    vscode.commands.registerCommand("sdf-lsp.build", () => build()),
    vscode.commands.registerCommand("sdf-lsp.selectTarget", () => selectTarget()),
    vscode.commands.registerCommand("sdf-lsp.selectSdk", () => selectSdk()),
    vscode.commands.registerCommand("sdf-lsp.showGraph", async (view?: unknown) => {
      const editor = needEditor();
      if (editor) {
        await graph.show(editor.document.uri, view === "memory" || view === "authority" ? (view as GraphView) : undefined);
      }
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      updateStatus();
      if (editor?.document.languageId === LANGUAGE) {
        scheduleTargetRefresh(0);
      }
    }),
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
