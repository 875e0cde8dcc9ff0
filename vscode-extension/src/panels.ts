// Webviews beside the editor: the CSpace table (Markdown) and the system graph (SVG).
import * as crypto from "crypto";
import * as vscode from "vscode";

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const STYLE = `
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground);
         background: var(--vscode-editor-background); padding: 0 1em 1em 1em; }
  table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
  th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 2px 8px; }
  th { background: var(--vscode-editorWidget-background, transparent); }
  code { font-family: var(--vscode-editor-font-family); }
  .toolbar { position: sticky; top: 0; padding: 6px 0; background: var(--vscode-editor-background); display: flex; gap: 6px; align-items: center; }
  .toolbar .title { margin-right: auto; opacity: 0.8; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 10px; cursor: pointer; }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
  button:hover { background: var(--vscode-button-hoverBackground); }
  .graph { overflow: auto; background: #fff; border-radius: 4px; padding: 8px; }
  .graph svg { max-width: 100%; height: auto; }
  .error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
`;

function page(webview: vscode.Webview, title: string, body: string, script = ""): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ""}</body></html>`;
}

/** Markdown to HTML with VS Code's own renderer, or preformatted text if that is unavailable. */
async function renderMarkdown(md: string): Promise<string> {
  try {
    const html = await vscode.commands.executeCommand<string>("markdown.api.render", md);
    if (typeof html === "string" && html.length > 0) {
      return html;
    }
  } catch {
    // fall through
  }
  return `<pre>${escapeHtml(md)}</pre>`;
}

export class MarkdownPanel {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly viewType: string) {}

  async show(title: string, markdown: string): Promise<void> {
    const body = `<div class="markdown-body">${await renderMarkdown(markdown)}</div>`;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(
        this.viewType,
        title,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, enableFindWidget: true },
      );
      this.panel.onDidDispose(() => (this.panel = undefined));
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.panel.title = title;
    this.panel.webview.html = page(this.panel.webview, title, body);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

export type GraphView = "authority" | "memory";
export type GraphSource = (uri: vscode.Uri, view: GraphView) => Promise<string>;

/** Strip everything before the <svg> root (XML declaration, DOCTYPE, comments). */
export function svgBody(svg: string): string {
  const at = svg.search(/<svg[\s>]/);
  return at >= 0 ? svg.slice(at) : svg;
}

export class GraphPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private uri: vscode.Uri | undefined;
  private view: GraphView = "authority";
  private generation = 0;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly source: GraphSource,
    private readonly log: (msg: string) => void,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (this.panel && this.uri && doc.uri.toString() === this.uri.toString()) {
          void this.refresh();
        }
      }),
    );
  }

  get document(): vscode.Uri | undefined {
    return this.uri;
  }

  async show(uri: vscode.Uri, view?: GraphView): Promise<void> {
    this.uri = uri;
    if (view) {
      this.view = view;
    }
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(
        "sdf-lsp.graph",
        this.title(),
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, enableFindWidget: true, retainContextWhenHidden: false },
      );
      this.panel.onDidDispose(() => {
        this.panel = undefined;
      });
      this.panel.webview.onDidReceiveMessage((msg) => {
        if (msg && msg.type === "view" && (msg.view === "authority" || msg.view === "memory")) {
          this.view = msg.view;
          void this.refresh();
        } else if (msg && msg.type === "refresh") {
          void this.refresh();
        }
      });
    } else {
      this.panel.reveal(undefined, true);
    }
    await this.refresh();
  }

  private title(): string {
    const name = this.uri ? this.uri.path.split("/").pop() : "";
    return `System graph: ${name}`;
  }

  async refresh(): Promise<void> {
    const panel = this.panel;
    const uri = this.uri;
    if (!panel || !uri) {
      return;
    }
    const generation = ++this.generation;
    panel.title = this.title();
    let content: string;
    try {
      const svg = await this.source(uri, this.view);
      content = `<div class="graph" data-view="${this.view}">${svgBody(svg)}</div>`;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log(`showGraph failed: ${msg}`);
      content = `<p class="error">Could not draw the ${this.view} graph: ${escapeHtml(msg)}</p>`;
    }
    if (generation !== this.generation || this.panel !== panel) {
      return; // a newer refresh is on its way
    }
    const button = (view: GraphView, label: string) =>
      `<button class="${view === this.view ? "" : "secondary"}" data-view="${view}">${label}</button>`;
    const body =
      `<div class="toolbar"><span class="title">${escapeHtml(this.title())} (${this.view})</span>` +
      `${button("authority", "Authority")}${button("memory", "Memory")}` +
      `<button class="secondary" id="refresh" title="Redraw">Refresh</button></div>${content}`;
    const script = `
      const vscode = acquireVsCodeApi();
      for (const b of document.querySelectorAll("button[data-view]")) {
        b.addEventListener("click", () => vscode.postMessage({ type: "view", view: b.dataset.view }));
      }
      document.getElementById("refresh").addEventListener("click", () => vscode.postMessage({ type: "refresh" }));`;
    panel.webview.html = page(panel.webview, this.title(), body, script);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}
