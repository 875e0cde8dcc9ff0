// The system graph inside its webview: DOT from the language server, laid out and drawn here
// by Graphviz compiled to WebAssembly (@viz-js/viz, bundled), so no native Graphviz is needed.
// Zoom with the mouse wheel or the buttons, pan by dragging; the view is kept when the same
// graph is redrawn (after a save) and fitted to the panel when another one is shown.
import { instance } from "@viz-js/viz";

interface VsCodeApi {
  postMessage(msg: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Message =
  | { type: "graph"; view: string; title: string; dot: string; key: string }
  | { type: "error"; view: string; title: string; message: string };

const vscode = acquireVsCodeApi();
const viewport = document.getElementById("viewport") as HTMLDivElement;
const canvas = document.getElementById("canvas") as HTMLDivElement;
const zoomLabel = document.getElementById("zoom") as HTMLSpanElement;
const errorBox = document.getElementById("error") as HTMLDivElement;
const titleBox = document.getElementById("title") as HTMLSpanElement;
const vizReady = instance();

let scale = 1;
let tx = 0;
let ty = 0;
let shownKey: string | undefined;
const MIN = 0.05;
const MAX = 8;

function apply(): void {
  canvas.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
  canvas.dataset.scale = scale.toFixed(4);
  zoomLabel.textContent = `${Math.round(scale * 100)}%`;
}

function svgSize(): { w: number; h: number } {
  const svg = canvas.querySelector("svg");
  if (!svg) {
    return { w: 1, h: 1 };
  }
  const w = svg.width.baseVal.value || svg.getBoundingClientRect().width / scale;
  const h = svg.height.baseVal.value || svg.getBoundingClientRect().height / scale;
  return { w: Math.max(w, 1), h: Math.max(h, 1) };
}

function fit(): void {
  const { w, h } = svgSize();
  const vw = viewport.clientWidth;
  const vh = viewport.clientHeight;
  scale = Math.min(MAX, Math.max(MIN, Math.min(vw / w, vh / h, 1) * 0.98));
  tx = (vw - w * scale) / 2;
  ty = Math.max(0, (vh - h * scale) / 2);
  apply();
}

/** Zoom by `factor` keeping the point (px, py) of the viewport where it is. */
function zoomAt(factor: number, px: number, py: number): void {
  const next = Math.min(MAX, Math.max(MIN, scale * factor));
  const k = next / scale;
  tx = px - (px - tx) * k;
  ty = py - (py - ty) * k;
  scale = next;
  apply();
}

function zoomCentre(factor: number): void {
  zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2);
}

/** The toolbar and the view name on the viewport follow the graph that is shown. */
function mark(msg: Message): void {
  viewport.dataset.view = msg.view;
  titleBox.textContent = `${msg.title} (${msg.view})`;
  for (const b of document.querySelectorAll<HTMLButtonElement>("button[data-view]")) {
    b.classList.toggle("secondary", b.dataset.view !== msg.view);
  }
}

async function show(msg: Message): Promise<void> {
  if (msg.type === "error") {
    mark(msg);
    errorBox.textContent = msg.message;
    errorBox.hidden = false;
    canvas.replaceChildren();
    shownKey = undefined;
    return;
  }
  let svg: SVGSVGElement;
  try {
    svg = (await vizReady).renderSVGElement(msg.dot);
  } catch (err) {
    mark(msg);
    errorBox.textContent = `Graphviz could not lay out the ${msg.view} graph: ${err instanceof Error ? err.message : String(err)}`;
    errorBox.hidden = false;
    canvas.replaceChildren();
    shownKey = undefined;
    return;
  }
  errorBox.hidden = true;
  canvas.replaceChildren(svg);
  mark(msg);
  if (msg.key !== shownKey) {
    shownKey = msg.key;
    fit();
  }
  vscode.postMessage({ type: "rendered", view: msg.view });
}

window.addEventListener("message", (event: MessageEvent<Message>) => {
  const msg = event.data;
  if (msg && (msg.type === "graph" || msg.type === "error")) {
    void show(msg);
  }
});

viewport.addEventListener(
  "wheel",
  (e: WheelEvent) => {
    e.preventDefault();
    const r = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
  },
  { passive: false },
);

let drag: { x: number; y: number; tx: number; ty: number } | undefined;
viewport.addEventListener("pointerdown", (e: PointerEvent) => {
  if (e.button !== 0) {
    return;
  }
  drag = { x: e.clientX, y: e.clientY, tx, ty };
  viewport.setPointerCapture(e.pointerId);
  viewport.classList.add("dragging");
});
viewport.addEventListener("pointermove", (e: PointerEvent) => {
  if (drag) {
    tx = drag.tx + e.clientX - drag.x;
    ty = drag.ty + e.clientY - drag.y;
    apply();
  }
});
const endDrag = () => {
  drag = undefined;
  viewport.classList.remove("dragging");
};
viewport.addEventListener("pointerup", endDrag);
viewport.addEventListener("pointercancel", endDrag);

document.getElementById("zoom-in")?.addEventListener("click", () => zoomCentre(1.25));
document.getElementById("zoom-out")?.addEventListener("click", () => zoomCentre(0.8));
document.getElementById("zoom-fit")?.addEventListener("click", () => fit());
document.getElementById("zoom-reset")?.addEventListener("click", () => {
  scale = 1;
  tx = 0;
  ty = 0;
  apply();
});
document.getElementById("refresh")?.addEventListener("click", () => vscode.postMessage({ type: "refresh" }));
for (const b of document.querySelectorAll<HTMLButtonElement>("button[data-view]")) {
  b.addEventListener("click", () => vscode.postMessage({ type: "view", view: b.dataset.view }));
}
window.addEventListener("keydown", (e: KeyboardEvent) => {
  if (e.key === "+" || e.key === "=") {
    zoomCentre(1.25);
  } else if (e.key === "-") {
    zoomCentre(0.8);
  } else if (e.key === "0") {
    fit();
  }
});

apply();
vscode.postMessage({ type: "ready" });
