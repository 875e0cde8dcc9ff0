// Closing tags: typing `>` at the end of a start tag inserts `</name>` after the cursor,
// typing `</` completes the innermost open element. Off with "sdf.autoCloseTags": false.
import * as vscode from "vscode";

const NAME = "[-_.A-Za-z0-9:]+";
const START_TAG_END = new RegExp(`<(${NAME})(?:\\s(?:[^<>"']|"[^"]*"|'[^']*')*)?>$`);
const WINDOW = 64 * 1024; // characters before the cursor that are looked at

function insideComment(text: string): boolean {
  return text.lastIndexOf("<!--") > text.lastIndexOf("-->");
}

/** The innermost element left open at the end of `text` (comments and declarations skipped). */
export function openElement(text: string): string | undefined {
  const stack: string[] = [];
  const re = new RegExp(`<!--[\\s\\S]*?-->|<!\\[CDATA\\[[\\s\\S]*?\\]\\]>|<[?!][^>]*>|<(/?)(${NAME})(?:[^<>"']|"[^"]*"|'[^']*')*?(/?)>`, "g");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (!m[2]) {
      continue;
    }
    if (m[1] === "/") {
      const at = stack.lastIndexOf(m[2]);
      if (at >= 0) {
        stack.length = at;
      }
    } else if (m[3] !== "/") {
      stack.push(m[2]);
    }
  }
  return stack[stack.length - 1];
}

export function closingTagAfter(before: string, typed: string): string | undefined {
  if (insideComment(before)) {
    return undefined;
  }
  if (typed === ">") {
    const m = START_TAG_END.exec(before);
    if (!m || before.endsWith("/>")) {
      return undefined;
    }
    return `</${m[1]}>`;
  }
  if (typed === "/" && before.endsWith("</")) {
    const name = openElement(before.slice(0, -2));
    return name ? `${name}>` : undefined;
  }
  return undefined;
}

export function registerAutoClose(): vscode.Disposable {
  return vscode.workspace.onDidChangeTextDocument((e) => {
    if (e.document.languageId !== "sdf" || e.contentChanges.length !== 1) {
      return;
    }
    if (e.reason === vscode.TextDocumentChangeReason.Undo || e.reason === vscode.TextDocumentChangeReason.Redo) {
      return;
    }
    const change = e.contentChanges[0];
    if ((change.text !== ">" && change.text !== "/") || change.rangeLength !== 0) {
      return;
    }
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document !== e.document || editor.selections.length !== 1) {
      return;
    }
    if (!vscode.workspace.getConfiguration("sdf", e.document.uri).get<boolean>("autoCloseTags", true)) {
      return;
    }
    const doc = e.document;
    const cursor = change.range.start.translate(0, change.text.length);
    const version = doc.version;
    // the editor's selection is updated after this event: look a moment later, and only if
    // nothing else was typed meanwhile
    setTimeout(() => {
      if (doc.version !== version || vscode.window.activeTextEditor !== editor || editor.selections.length !== 1) {
        return;
      }
      if (!editor.selection.isEmpty || !editor.selection.active.isEqual(cursor)) {
        return;
      }
      const end = doc.offsetAt(cursor);
      const before = doc.getText(new vscode.Range(doc.positionAt(Math.max(0, end - WINDOW)), cursor));
      const close = closingTagAfter(before, change.text);
      if (!close) {
        return;
      }
      const after = doc.lineAt(cursor.line).text.slice(cursor.character);
      if (after.startsWith(close) || (change.text === "/" && after.startsWith(">"))) {
        return;
      }
      const escaped = close.replace(/\$/g, "\\$");
      const snippet = change.text === ">" ? "$0" + escaped : escaped + "$0";
      void editor.insertSnippet(new vscode.SnippetString(snippet), cursor, {
        undoStopBefore: false,
        undoStopAfter: false,
      });
    }, 50);
  });
}
