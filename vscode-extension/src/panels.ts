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
/** DOT text of a view of a document (from the language server). */
export type GraphSource = (uri: vscode.Uri, view: GraphView) => Promise<string>;

const GRAPH_STYLE = `
  html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); background: var(--vscode-editor-background); }
  .toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 8px; flex-wrap: wrap; }
  .toolbar .title { margin-right: auto; opacity: 0.8; }
  .toolbar .zoom { min-width: 3.5em; text-align: right; opacity: 0.8; font-variant-numeric: tabular-nums; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 10px; cursor: pointer; }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
  button:hover { background: var(--vscode-button-hoverBackground); }
  .graph { position: relative; flex: 1; overflow: hidden; background: #fff; margin: 0 8px 8px 8px; border-radius: 4px;
           cursor: grab; touch-action: none; }
  .graph.dragging { cursor: grabbing; }
  #canvas { position: absolute; left: 0; top: 0; transform-origin: 0 0; }
  #canvas svg { display: block; }
  .error { color: var(--vscode-errorForeground); white-space: pre-wrap; margin: 0 8px 8px 8px; }
`;

export class GraphPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private uri: vscode.Uri | undefined;
  private view: GraphView = "authority";
  private generation = 0;
  private last: object | undefined; // the last graph message, sent again when the webview (re)loads
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
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
      const dist = vscode.Uri.joinPath(this.extensionUri, "dist");
      this.panel = vscode.window.createWebviewPanel(
        "sdf-lsp.graph",
        this.title(),
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, enableFindWidget: true, retainContextWhenHidden: false, localResourceRoots: [dist] },
      );
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.last = undefined;
      });
      this.panel.webview.onDidReceiveMessage((msg) => {
        if (msg && msg.type === "view" && (msg.view === "authority" || msg.view === "memory")) {
          this.view = msg.view;
          void this.refresh();
        } else if (msg && msg.type === "refresh") {
          void this.refresh();
        } else if (msg && msg.type === "ready" && this.last) {
          void this.panel?.webview.postMessage(this.last);
        }
      });
      this.panel.webview.html = this.html(this.panel.webview);
    } else {
      this.panel.reveal(undefined, true);
    }
    await this.refresh();
  }

  private title(): string {
    const name = this.uri ? this.uri.path.split("/").pop() : "";
    return `System graph: ${name}`;
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString("base64");
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "dist", "graph-view.js"));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource} 'unsafe-inline'`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
      // Graphviz is WebAssembly: compiling it needs 'wasm-unsafe-eval' (not 'unsafe-eval')
      `script-src 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    ].join("; ");
    const button = (view: GraphView, label: string) =>
      `<button class="${view === this.view ? "" : "secondary"}" data-view="${view}">${label}</button>`;
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(this.title())}</title><style>${GRAPH_STYLE}</style></head>
<body>
<div class="toolbar"><span class="title" id="title"></span>
${button("authority", "Authority")}${button("memory", "Memory")}
<button class="secondary" id="zoom-out" title="Zoom out (-)">&minus;</button><span class="zoom" id="zoom">100%</span>
<button class="secondary" id="zoom-in" title="Zoom in (+)">+</button>
<button class="secondary" id="zoom-fit" title="Fit to the panel (0)">Fit</button>
<button class="secondary" id="zoom-reset" title="Actual size">1:1</button>
<button class="secondary" id="refresh" title="Redraw">Refresh</button></div>
<div class="error" id="error" hidden></div>
<div class="graph" id="viewport" data-view="${this.view}"><div id="canvas"></div></div>
<script nonce="${nonce}" src="${script}"></script>
</body></html>`;
  }

  async refresh(): Promise<void> {
    const panel = this.panel;
    const uri = this.uri;
    if (!panel || !uri) {
      return;
    }
    const generation = ++this.generation;
    const view = this.view;
    panel.title = this.title();
    let msg: object;
    try {
      const dot = await this.source(uri, view);
      msg = { type: "graph", view, dot, key: `${uri.toString()}#${view}`, title: this.title() };
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.log(`showGraph failed: ${text}`);
      msg = { type: "error", view, message: `Could not draw the ${view} graph: ${text}`, title: this.title() };
    }
    if (generation !== this.generation || this.panel !== panel) {
      return; // a newer refresh is on its way
    }
    this.last = msg;
    await panel.webview.postMessage(msg);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}
