"""Real VS Code end to end, as a new user has it: code-server (VS Code in the browser) from
.tools/ with a fresh profile, the packaged extension (vscode-extension/sdf-lsp.vsix) installed
into it, and a workspace without any .venv. code-server's PATH holds only a Python >= 3.11
that has no sdf_lsp and Node (no Graphviz): the language server that runs is the one bundled
in the .vsix, and the graph is laid out in the webview. Driven by Playwright in Debian's
Chromium. One code-server and one browser page serve the whole module; the tests run in file
order and each leaves the workspace as it found it.

Screenshots go to tests/artifacts/ (docs/images/ with SDF_LSP_UPDATE_SCREENSHOTS=1), failure
screenshots and logs to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require
from tests.editors.conftest import (
    BOARD,
    CODE_SERVER_ENTRY,
    EXTENSION,
    GOLDEN,
    NODE24_BIN,
    PYTHON,
    ROOT,
    VSIX,
    find,
    free_port,
    make_workspace,
    python_without_sdf_lsp,
    server_has_command,
    stop_tree,
    workspace_settings,
    write_json,
)

pytestmark = [pytest.mark.editor, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
LONG = 60_000  # ms: first start of the workbench, extension host and server
WAIT = 20_000  # ms: anything after that

USER_SETTINGS = {
    "files.autoSave": "off",
    "files.hotExit": "off",
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "workbench.editor.enablePreview": False,
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "chat.disableAIFeatures": True,
    "git.enabled": False,
    "editor.minimap.enabled": False,
    "editor.hover.delay": 200,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "editor.suggestOnTriggerCharacters": False,
    "window.commandCenter": False,
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    # the layout on save is the server's (4 spaces, as VS Code's default tab size), whatever a file holds
    "[sdf]": {"editor.formatOnSave": True, "editor.detectIndentation": False},
}


def sources_newer_than_vsix() -> bool:
    sources = [
        *EXTENSION.glob("src/**/*.ts"),
        *EXTENSION.glob("*.json"),
        *EXTENSION.glob("syntaxes/*"),
        *(ROOT / "sdf_lsp").rglob("*.py"),
        ROOT / "pyproject.toml",
    ]  # the server is bundled in the .vsix
    newest = max(p.stat().st_mtime for p in sources)
    return not VSIX.exists() or VSIX.stat().st_mtime < newest


@pytest.fixture(scope="module")
def vsix() -> Path:
    if sources_newer_than_vsix() and (EXTENSION / "node_modules").is_dir():
        # keep the package in step with the sources while iterating (the setup script builds it once)
        subprocess.run(
            ["npx", "vsce", "package", "--no-dependencies", "-o", VSIX.name],
            cwd=EXTENSION,
            check=True,
            capture_output=True,
            timeout=600,
        )
    require(VSIX.exists(), f"{VSIX} is missing: run scripts/install-editors.sh")
    return VSIX


@pytest.fixture(scope="module")
def code_server(tmp_path_factory, vsix, artifacts):
    require(CODE_SERVER_ENTRY.exists(), f"code-server is missing ({CODE_SERVER_ENTRY}): run scripts/install-editors.sh")
    require((NODE24_BIN / "node").exists(), f"Node 24 is missing ({NODE24_BIN}): run scripts/install-editors.sh")
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium")
    python = python_without_sdf_lsp()
    require(python is not None, "no Python >= 3.11 without sdf_lsp to stand for a new user's (e.g. /usr/bin/python3)")
    root = tmp_path_factory.mktemp("vscode")
    ws = make_workspace(root)
    write_json(ws / ".vscode" / "settings.json", workspace_settings())
    # everything the extension host finds on PATH: a Python without sdf_lsp, and Node
    bin_dir = root / "bin"
    bin_dir.mkdir()
    os.symlink(python, bin_dir / "python3")
    os.symlink(NODE24_BIN / "node", bin_dir / "node")
    data, exts = root / "data", root / "exts"
    write_json(data / "User" / "settings.json", USER_SETTINGS)
    (root / "config.yaml").write_text("bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n")
    xdg = root / "xdg"  # code-server keeps logs and state under the XDG folders: not in the user's home
    env = dict(
        os.environ,
        PATH=str(bin_dir),
        XDG_DATA_HOME=str(xdg / "data"),
        XDG_CONFIG_HOME=str(xdg / "config"),
        XDG_CACHE_HOME=str(xdg / "cache"),
        XDG_STATE_HOME=str(xdg / "state"),
    )
    # VS Code would add the PATH of the user's login shell (pyenv, Graphviz, ...) unless told that
    # its environment is already complete, as when it is started from a terminal
    env["VSCODE_CLI"] = "1"
    for name in ("VSCODE_IPC_HOOK_CLI", "PYTHONPATH", "VIRTUAL_ENV", "MICROKIT_SDK", "SDF_LSP_LOG_LEVEL"):
        env.pop(name, None)
    base = [
        str(NODE24_BIN / "node"),
        str(CODE_SERVER_ENTRY),
        "--config",
        str(root / "config.yaml"),
        "--user-data-dir",
        str(data),
        "--extensions-dir",
        str(exts),
    ]
    subprocess.run(base + ["--install-extension", str(vsix)], env=env, check=True, capture_output=True, timeout=120)
    log = root / "code-server.log"
    shutil.rmtree(artifacts / "vscode-logs", ignore_errors=True)
    proc = None
    try:
        for _attempt in range(3):  # a free port can be taken between the probe and the bind: try another
            port = free_port()
            with open(log, "w") as out:
                proc = subprocess.Popen(
                    base
                    + [
                        "--auth",
                        "none",
                        "--bind-addr",
                        f"127.0.0.1:{port}",
                        "--disable-telemetry",
                        "--disable-update-check",
                        "--disable-workspace-trust",
                        "--disable-getting-started-override",
                        "--reconnection-grace-time",
                        "5",
                        "--log",
                        "info",
                        str(ws),
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=root,
                )
            if wait_healthy(proc, port):
                break
            stop_tree(proc)
        else:
            raise RuntimeError(f"code-server did not start:\n{log.read_text()}")
        yield {
            "url": f"http://127.0.0.1:{port}/?folder={ws}",
            "ws": ws,
            "root": root,
            "bin": bin_dir,
            "python": python,
            "data": data,
        }
    finally:
        if proc is not None:
            stop_tree(proc)
        for f in [log, *data.glob("logs/**/*.log")]:
            if f.is_file() and f.stat().st_size:
                dest = artifacts / "vscode-logs" / f.relative_to(root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, dest)


def wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return True
        except OSError:
            if proc.poll() is not None:
                return False
            time.sleep(0.2)
    return False


class Workbench:
    """Keyboard-first helpers over the VS Code web UI."""

    def __init__(self, page, ws: Path):
        self.page = page
        self.ws = ws

    # -- basics -------------------------------------------------------------------------
    def press(self, *keys: str):
        for k in keys:
            self.page.keyboard.press(k)

    def quick_input(self, opener: str, text: str):
        self.page.keyboard.press(opener)
        box = self.page.locator(".quick-input-widget input")
        box.wait_for(state="visible", timeout=WAIT)
        box.fill(text)
        return box

    def pick(self, label: str, timeout: int = WAIT, closes: bool = True):
        """Accept the quick-input row labelled exactly `label` once it is the focused one
        (the list re-renders while results arrive, so a click could hit a stale row)."""
        exact = re.compile("^" + re.escape(label) + "$")
        focused = self.page.locator(
            ".quick-input-list .monaco-list-row.focused", has=self.page.locator(".label-name", has_text=exact)
        )
        focused.first.wait_for(timeout=timeout)
        self.page.keyboard.press("Enter")
        if closes:
            self.page.locator(".quick-input-widget").wait_for(state="hidden", timeout=WAIT)

    def command(self, title: str, closes: bool = True):
        """Run a command from the palette by its exact title, e.g. 'SDF: Show CSpace'
        (`closes=False`: the command opens a quick pick of its own)."""
        self.quick_input("F1", ">" + title)
        self.pick(title, closes=closes)

    def open(self, rel: str):
        """Open a workspace file with Quick Open and wait until its editor is active."""
        name = rel.rsplit("/", 1)[-1]
        self.quick_input("Control+P", rel)
        self.pick(name, timeout=LONG)
        self.page.locator(".tabs-container .tab.active", has_text=name).wait_for(timeout=WAIT)
        self.page.locator(".monaco-editor.focused").wait_for(timeout=WAIT)

    def goto(self, line: int, character: int):
        """Put the cursor at 0-based (line, character) and check the status bar agrees."""
        self.quick_input("Control+G", f":{line + 1}:{character + 1}")
        self.page.keyboard.press("Enter")
        self.status(f"Ln {line + 1}, Col {character + 1}")
        # the box previews the place while it is typed, so the status bar agrees before Enter is
        # handled: wait until the box is closed and the editor has the keyboard again
        self.page.locator(".quick-input-widget").wait_for(state="hidden", timeout=WAIT)
        self.page.locator(".monaco-editor.focused").first.wait_for(timeout=WAIT)

    def shown_by(self, target, keys: tuple[str, ...], dismiss: str | None = None):
        """Press `keys` until `target` shows, within WAIT. VS Code closes a widget just opened when
        a late event moves the text or the cursor: then the keys are pressed again (after
        `dismiss`, which closes what did show)."""
        deadline = time.monotonic() + WAIT / 1000
        while True:
            self.press(*keys)
            try:
                target.first.wait_for(timeout=3000)
                return target
            except Exception:
                if time.monotonic() > deadline:
                    raise
                if dismiss:
                    self.press(dismiss)

    def quick_fix(self, title: str):
        """Open the quick-fix menu (Ctrl+.) and wait for `title` in it. A cursor event that VS Code
        delivers after a go-to-line closes a menu just opened."""
        action = self.page.locator(".action-widget .monaco-list-row", has_text=title)
        return self.shown_by(action, ("Control+.",), dismiss="Escape").first

    def hover(self, text: str):
        """Show the hover at the cursor (Ctrl+K Ctrl+I) and wait until it holds `text`. Code lenses
        drawn above lines meanwhile move the text and close a hover."""
        return self.shown_by(self.page.locator(".monaco-hover", has_text=text), ("Control+K", "Control+I"))

    def status(self, text: str, timeout: int = WAIT):
        item = self.page.locator("#workbench\\.parts\\.statusbar .statusbar-item", has_text=text)
        item.first.wait_for(timeout=timeout)
        return item.first

    def notification(self, text: str, timeout: int = WAIT):
        toast = self.page.locator(".notifications-toasts .notification-toast", has_text=text)
        toast.first.wait_for(timeout=timeout)
        return toast.first

    def clear_notifications(self):
        self.command("Notifications: Clear All Notifications")

    def revert(self):
        self.command("File: Revert File")

    def problems(self):
        """Show the Problems panel (Ctrl+Shift+M toggles it, so only when hidden)."""
        if not self.page.locator(".markers-panel").is_visible():
            self.press("Control+Shift+M")
        self.page.locator(".markers-panel").wait_for(timeout=WAIT)

    def hide_panel(self):
        panel = self.page.locator("#workbench\\.parts\\.panel")
        if panel.is_visible():
            self.press("Control+J")
            panel.wait_for(state="hidden", timeout=WAIT)

    def close_editors(self):
        self.command("View: Close All Editors")

    def editor_text(self) -> str:
        return self.page.locator(".monaco-editor.focused .view-lines").inner_text().replace("\u00a0", " ")

    def webview(self, title: str):
        """The inner frame of the webview panel whose tab has `title`."""
        self.page.locator(".tabs-container .tab", has_text=title).first.wait_for(timeout=WAIT)
        return self.page.frame_locator("iframe.webview.ready").frame_locator("iframe#active-frame")

    def shot(self, path: Path):
        self.page.mouse.move(1, 1)
        self.page.screenshot(path=str(path))


@pytest.fixture(scope="module")
def vscode(code_server, artifacts):
    from playwright.sync_api import sync_playwright

    xdg = code_server["root"] / "browser"  # Chromium's crash reports and dconf: not in the user's home
    env = dict(os.environ, XDG_CONFIG_HOME=str(xdg / "config"), XDG_CACHE_HOME=str(xdg / "cache"))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            env=env,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.goto(code_server["url"])
            page.locator(".monaco-workbench").wait_for(timeout=LONG)
            page.locator(".explorer-folders-view .monaco-list-row", has_text="echo").first.wait_for(timeout=LONG)
            wb = Workbench(page, code_server["ws"])
            wb.server = code_server
            yield wb
        finally:
            browser.close()


@pytest.fixture
def wb(vscode, request, artifacts):
    """The shared workbench; a failing test leaves a screenshot in tests/artifacts/."""
    yield vscode
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        vscode.page.screenshot(path=str(artifacts / f"{request.node.name}.png"))
    vscode.press("Escape", "Escape")


ECHO = (Path(__file__).resolve().parents[2] / "examples" / "echo" / "echo.system").read_text()
BROKEN = (Path(__file__).resolve().parents[2] / "examples" / "echo" / "echo_broken.system").read_text()


# -- the package, without an editor -----------------------------------------------------------
def test_grammar_is_generated_from_the_schema():
    """syntaxes/sdf.tmLanguage.json lists exactly the schema's element and attribute names."""
    r = subprocess.run(
        [PYTHON, str(EXTENSION / "scripts" / "gen_grammar.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    from sdf_lsp import schema

    grammar = json.loads((EXTENSION / "syntaxes" / "sdf.tmLanguage.json").read_text())
    tag = grammar["repository"]["tag"]["begin"]
    for e in schema.ELEMENTS:
        assert re.search(r"[(|]" + re.escape(e.name) + r"[|)]", tag), e.name


def test_manifest_matches_the_shared_names():
    manifest = json.loads((EXTENSION / "package.json").read_text())
    from sdf_lsp import schema

    props = manifest["contributes"]["configuration"]["properties"]
    for key in (
        "sdf.target.file",
        "sdf.target.board",
        "sdf.target.config",
        "sdf.target.sdk",
        "sdf.searchPaths",
        "sdf.dialect",
        "sdf.hints.authority",
        "sdf.build.outDir",
        "sdf.workspace.check",
        "sdf.server.python",
        "sdf.server.command",
    ):
        assert key in props, key
    assert props["sdf.target.config"]["default"] == "release"
    assert props["sdf.hints.authority"]["default"] is True
    assert props["sdf.workspace.check"]["default"] is True
    assert manifest["contributes"]["configurationDefaults"]["[sdf]"]["editor.linkedEditing"] is True
    assert (
        set(props["sdf.dialect"]["enum"]) == set(schema.DIALECTS) and props["sdf.dialect"]["default"] == schema.EXTENDED
    )
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert {"sdf-lsp.build", "sdf-lsp.showCSpace", "sdf-lsp.showGraph", "sdf-lsp.restartServer"} <= commands
    assert not any(c.startswith("sdf.") for c in commands)  # those ids belong to the server's commands
    assert manifest["activationEvents"] == ["onLanguage:sdf"]
    lang = manifest["contributes"]["languages"][0]
    assert lang["id"] == "sdf" and lang["extensions"] == [".system"] and lang["configuration"]
    assert manifest["publisher"] == "sdf-lsp"
    assert manifest["repository"]["url"] == "https://github.com/sdf-lsp/sdf-lsp.git"
    assert "sdf-lsp.selectTarget" in commands and "sdf-lsp.selectSdk" in commands
    from sdf_lsp.target import BOARDS

    assert props["sdf.target.board"]["examples"] == list(BOARDS)  # suggestions in settings.json
    assert props["sdf.server.importStrategy"]["default"] == "useBundled"
    assert (EXTENSION / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


def test_vsix_carries_the_server(vsix):
    """sdf_lsp and its dependencies, pure Python only (one package for every platform), and the
    WebAssembly Graphviz for the graph view."""
    import zipfile

    names = zipfile.ZipFile(vsix).namelist()
    libs = "extension/bundled/libs/"
    for module in (
        "sdf_lsp/__init__.py",
        "sdf_lsp/server.py",
        "pygls/__init__.py",
        "lsprotocol/types.py",
        "attrs/__init__.py",
        "cattrs/__init__.py",
        "elftools/__init__.py",
        "graphviz/__init__.py",
    ):
        assert libs + module in names, module
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".pyc"))]
    assert not [n for n in names if n.startswith(libs + "bin/")]
    assert "extension/dist/graph-view.js" in names and "extension/LICENSE.txt" in names


# -- in VS Code, in order ------------------------------------------------------------------------
def test_diagnostics_squiggle_and_problems(wb, images):
    wb.open("echo/echo_broken.system")
    wb.page.locator(".monaco-editor .squiggly-error").first.wait_for(timeout=LONG)
    wb.problems()
    row = wb.page.locator(
        ".markers-panel .monaco-list-row", has_text="invalid memory region name 'echo_bufer' on 'map'"
    )
    row.first.wait_for(timeout=WAIT)
    assert "MK-MAP1" in row.first.inner_text()
    rows = wb.page.locator(".markers-panel .monaco-list-row .marker-message-details, .markers-panel .monaco-list-row")
    assert rows.count() >= 4
    # the grammar: SDF element names are coloured unlike plain XML punctuation
    tag = wb.page.locator(".monaco-editor .view-line span span", has_text=re.compile("^protection_domain$")).first
    bracket = wb.page.locator(".monaco-editor .view-line span span", has_text=re.compile("^<$")).first
    assert tag.evaluate("e => getComputedStyle(e).color") != bracket.evaluate("e => getComputedStyle(e).color")
    line, ch = find(BROKEN, "echo_bufer")
    wb.goto(line, ch + 3)
    wb.hover("invalid memory region name")
    wb.shot(images / "vscode-diagnostics.png")


def test_status_bar_shows_target(wb):
    wb.status(f"{BOARD} (release)", timeout=LONG)


def test_hover_on_protection_domain(wb, images):
    wb.open("echo/echo.system")
    wb.hide_panel()
    line, ch = find(ECHO, 'protection_domain name="client"', delta=len('protection_domain name="'))
    wb.goto(line, ch + 2)
    hover = wb.hover("protection domain")
    text = hover.first.inner_text()
    assert "client" in text and "priority 100" in text, text
    wb.shot(images / "vscode-hover.png")


def test_completion_offers_pd_names(wb):
    line, ch = find(ECHO, '<end pd="client" id="1"', delta=len('<end pd="'))
    wb.goto(line, ch)
    wb.press("Control+Space")
    widget = wb.page.locator(".suggest-widget.visible")
    widget.wait_for(timeout=WAIT)
    for name in ("uart_driver", "echo_server", "client"):
        widget.locator(".monaco-list-row", has_text=name).first.wait_for(timeout=WAIT)
    wb.press("Escape")


def test_definition_jumps_to_protection_domain(wb):
    line, ch = find(ECHO, '<end pd="echo_server"', delta=len('<end pd="') + 3)
    wb.goto(line, ch)
    wb.press("F12")
    target_line, _ = find(ECHO, 'protection_domain name="echo_server"')
    wb.status(f"Ln {target_line + 1},")


def test_closing_tag_is_inserted(wb):
    wb.open("echo/echo.system")
    line, _ = find(ECHO, "</system>")
    wb.goto(line, 0)
    wb.page.keyboard.type("<channel>")
    wb.page.locator(".monaco-editor .view-line", has_text="<channel></channel></system>").first.wait_for(timeout=WAIT)
    wb.status(f"Ln {line + 1}, Col 10")  # the cursor stays between the tags
    wb.revert()
    wb.page.locator(".monaco-editor .view-line", has_text="<channel></channel>").first.wait_for(
        state="detached", timeout=WAIT
    )


def test_quick_fix_changes_region_name(wb):
    wb.open("echo/echo_broken.system")
    line, ch = find(BROKEN, "echo_bufer")
    wb.goto(line, ch + 2)
    wb.problems()
    wb.page.locator(".monaco-editor .view-lines").first.click()
    wb.goto(line, ch + 2)
    wb.quick_fix("Change to 'echo_buffer'").click()
    wb.page.locator(".markers-panel .monaco-list-row", has_text="invalid memory region name").wait_for(
        state="detached", timeout=WAIT
    )
    assert "echo_bufer" not in wb.editor_text()
    # the other three errors stay
    wb.page.locator(".markers-panel .monaco-list-row", has_text="duplicate channel id").first.wait_for(timeout=WAIT)
    wb.revert()
    wb.page.locator(".markers-panel .monaco-list-row", has_text="invalid memory region name").first.wait_for(
        timeout=WAIT
    )


def test_show_cspace(wb, images):
    wb.open("echo/echo.system")
    line, ch = find(ECHO, '<map mr="echo_buffer" vaddr="0x4000000" perms="rw" setvar_vaddr="buffer" />', nth=1)
    wb.goto(line, ch + 3)
    wb.command("SDF: Show CSpace")
    view = wb.webview("CSpace of client")
    view.locator("h3", has_text="CSpace of").wait_for(timeout=WAIT)
    assert "client" in view.locator("h3").first.inner_text()
    view.locator("table").first.wait_for(timeout=WAIT)
    assert view.locator("table").count() == 2  # root CNode and Microkit CNode
    assert view.locator("td", has_text="endpoint of 'echo_server'").count() == 1  # its PPC
    wb.shot(images / "vscode-cspace.png")
    wb.close_editors()


def test_show_graph_webview(wb, images):
    require(server_has_command("sdf.showGraph"), "the server has no sdf.showGraph command yet")
    wb.open("echo/echo.system")
    wb.command("SDF: Show system graph")
    view = wb.webview("System graph")
    svg = view.locator(".graph svg")
    svg.wait_for(timeout=WAIT)
    assert "uart_driver" in svg.inner_html()
    wb.shot(images / "vscode-graph.png")
    # zoom (buttons, mouse wheel) and pan (drag)
    canvas = view.locator("#canvas")
    scale = lambda: float(canvas.get_attribute("data-scale"))  # noqa: E731
    before = scale()
    view.locator("#zoom-in").click()
    assert scale() > before * 1.2
    box = view.locator("#viewport").bounding_box()
    wb.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    zoomed = scale()
    wb.page.mouse.wheel(0, 300)
    view.locator("#canvas").evaluate(
        "(e, s) => new Promise(r => { const t = () => parseFloat(e.dataset.scale) < s ? r() : setTimeout(t, 50); t(); })",
        zoomed,
    )
    assert scale() < zoomed
    moved = canvas.evaluate("e => e.style.transform")
    wb.page.mouse.down()
    wb.page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 40, steps=4)
    wb.page.mouse.up()
    assert canvas.evaluate("e => e.style.transform") != moved
    view.locator("#zoom-fit").click()
    # the view switch inside the webview asks the server for the memory view
    view.locator("button[data-view=memory]").click()
    view.locator(".graph[data-view=memory] svg").wait_for(timeout=WAIT)
    assert "echo_buffer" in view.locator(".graph svg").inner_html()
    view.locator("button[data-view=authority]").click()
    view.locator(".graph[data-view=authority] svg").wait_for(timeout=WAIT)
    # rename a PD (F2) and save: the graph is redrawn with the new name
    line, ch = find(ECHO, 'protection_domain name="client"', delta=len('protection_domain name="') + 1)
    wb.page.locator(".monaco-editor .view-lines").first.click()
    wb.goto(line, ch)
    wb.press("F2")
    box = wb.page.locator(".rename-box input")
    box.wait_for(timeout=WAIT)
    box.fill("customer")
    wb.press("Enter")
    wb.page.locator(".monaco-editor .view-line", has_text='<end pd="customer" id="1"').first.wait_for(timeout=WAIT)
    wb.press("Control+S")
    view.locator(".graph svg", has_text="customer").wait_for(timeout=WAIT)
    (wb.ws / "echo" / "echo.system").write_text(ECHO)
    wb.close_editors()


def test_build_image(wb):
    require(server_has_command("sdf.build"), "the server has no sdf.build command yet")
    wb.open("hello/hello.system")
    wb.clear_notifications()
    wb.command("SDF: Build image")
    toast = wb.notification("SDF: built hello.system", timeout=LONG)
    out = wb.ws / "hello" / "build"
    assert any(out.rglob("loader.img")), list(out.rglob("*"))
    toast.locator(".monaco-button", has_text="Open Report").click()
    wb.page.locator(".tabs-container .tab.active", has_text="report.txt").wait_for(timeout=WAIT)
    wb.close_editors()


def test_failed_build_is_reported(wb):
    require(server_has_command("sdf.build"), "the server has no sdf.build command yet")
    wb.open("echo/echo.system")  # its program images do not exist
    wb.clear_notifications()
    wb.command("SDF: Build image")
    toast = wb.notification("SDF: build of echo.system failed", timeout=LONG)
    assert "uart_driver.elf" in toast.inner_text() or "program image" in toast.inner_text(), toast.inner_text()
    toast.locator(".monaco-button", has_text="Show Problems").wait_for(timeout=WAIT)
    wb.clear_notifications()
    wb.close_editors()


def test_status_bar_follows_configuration(wb):
    wb.open("hello/hello.system")
    settings = wb.ws / ".vscode" / "settings.json"
    write_json(settings, workspace_settings(**{"sdf.target.config": "debug"}))
    try:
        wb.status(f"{BOARD} (debug)")
    finally:
        write_json(settings, workspace_settings())
    wb.status(f"{BOARD} (release)")


def test_status_bar_warns_when_a_setting_fell_back(wb):
    wb.open("echo/echo.system")
    settings = wb.ws / ".vscode" / "settings.json"
    write_json(settings, workspace_settings(**{"sdf.target.sdk": "", "sdf.target.board": "no_such_board"}))
    try:
        item = wb.status(f"{BOARD} (release)")
        item.locator(".codicon-warning").wait_for(timeout=WAIT)
        item.hover()
        wb.page.locator(
            ".monaco-hover, .statusbar-item-hover, .workbench-hover", has_text="unknown board 'no_such_board'"
        ).first.wait_for(timeout=WAIT)
    finally:
        write_json(settings, workspace_settings())
    wb.status(f"{BOARD} (release)").locator(".codicon-circuit-board").wait_for(timeout=WAIT)
    wb.page.mouse.move(1, 1)


def test_status_bar_shows_the_dialect(wb):
    wb.open("echo/echo.system")
    settings = wb.ws / ".vscode" / "settings.json"
    wb.status(f"{BOARD} (release) · extended")
    write_json(settings, workspace_settings(**{"sdf.dialect": "microkit-2.2"}))
    try:
        wb.status(f"{BOARD} (release) · microkit-2.2")
    finally:
        write_json(settings, workspace_settings())
    wb.status(f"{BOARD} (release) · extended")


def test_select_target_quick_pick(wb):
    wb.open("echo/echo.system")
    settings = wb.ws / ".vscode" / "settings.json"
    try:
        wb.command("SDF: Select target", closes=False)
        wb.page.locator(".quick-input-widget", has_text="Select target board").wait_for(timeout=WAIT)
        rows = wb.page.locator(".quick-input-list .monaco-list-row")
        rows.first.wait_for(timeout=WAIT)
        wb.page.locator(".quick-input-list", has_text="Built-in boards").wait_for(timeout=WAIT)
        wb.page.locator(".quick-input-list", has_text="Microkit SDK").wait_for(timeout=WAIT)  # the workspace's
        wb.page.locator(".quick-input-widget input").fill("qemu_virt_riscv64")
        wb.pick("qemu_virt_riscv64", closes=False)  # a second pick follows: the kernel configuration
        wb.page.locator(".quick-input-widget", has_text="Kernel configuration of qemu_virt_riscv64").wait_for(
            timeout=WAIT
        )
        wb.page.locator(".quick-input-widget input").fill("debug")
        wb.pick("debug")
        wb.status("qemu_virt_riscv64 (debug)", timeout=LONG)
        saved = json.loads(settings.read_text())
        assert saved["sdf.target.board"] == "qemu_virt_riscv64" and saved["sdf.target.config"] == "debug"
        assert not saved.get("sdf.target.sdk")  # not in the SDK: the built-in table checks it
    finally:
        write_json(settings, workspace_settings())
    wb.status(f"{BOARD} (release)", timeout=LONG)


def test_build_without_sdk_offers_the_sdk_picker(wb):
    settings = wb.ws / ".vscode" / "settings.json"
    write_json(settings, {k: v for k, v in workspace_settings().items() if not k.startswith("sdf.target")})
    try:
        wb.open("hello/hello.system")
        wb.status(f"{BOARD} (release)", timeout=LONG)
        wb.clear_notifications()
        wb.command("SDF: Build image")
        toast = wb.notification("needs a Microkit SDK", timeout=LONG)
        assert "sdf.target.sdk" in toast.inner_text() and "--sdk" not in toast.inner_text()
        toast.locator(".monaco-button", has_text="Select Microkit SDK").click()
        # code-server's folder picker: a path box; type the SDK's folder and accept it
        widget = wb.page.locator(".quick-input-widget")
        box = widget.locator("input")
        box.wait_for(state="visible", timeout=LONG)
        ok = widget.locator(".monaco-button", has_text="Use this Microkit SDK")
        board_row = wb.page.locator(
            ".quick-input-list .monaco-list-row", has=wb.page.locator(".label-name", has_text=re.compile("^board$"))
        )
        give_up = time.monotonic() + 2 * LONG / 1000
        while True:
            assert time.monotonic() < give_up, "the SDK picker never took the typed folder"
            box.fill("")  # a change the picker sees even when the path was typed before
            box.fill(str(GOLDEN / "sdk") + "/")
            # the picker lists the folder's entries once it has read it: only then is OK taken
            # (a path typed while the picker was still starting may not be read: type it again)
            try:
                board_row.first.wait_for(timeout=WAIT)
            except Exception:
                continue
            ok.click()
            # when the list had made one of its folders active, OK opens that folder instead of
            # choosing the typed one (as it would for a user, who then chooses again)
            deadline = time.monotonic() + WAIT / 1000
            while widget.is_visible() and time.monotonic() < deadline:
                if not box.input_value().rstrip("/").endswith("sdk"):
                    break
                wb.page.wait_for_timeout(200)
            if not widget.is_visible():
                break
        widget.wait_for(state="hidden", timeout=WAIT)
        wb.notification("SDF: built hello.system", timeout=LONG)
        saved = json.loads(settings.read_text())
        assert saved["sdf.target.sdk"] == str(GOLDEN / "sdk") and saved["sdf.target.board"] == BOARD
    finally:
        write_json(settings, workspace_settings())
        wb.clear_notifications()
        wb.close_editors()


def test_missing_package_is_explained(wb):
    # the interpreter's own sdf_lsp (importStrategy fromEnvironment): this one has none
    settings = wb.ws / ".vscode" / "settings.json"
    python = str(wb.server["bin"] / "python3")
    wb.open("echo/echo.system")
    wb.clear_notifications()
    write_json(
        settings, workspace_settings(**{"sdf.server.python": python, "sdf.server.importStrategy": "fromEnvironment"})
    )
    try:
        toast = wb.notification("Python package 'sdf_lsp' is not installed", timeout=LONG)
        assert python in toast.inner_text()
        toast.locator(".monaco-button", has_text="Open Settings").wait_for(timeout=WAIT)
        wb.status("SDF")
    finally:
        write_json(settings, workspace_settings())
    wb.status(f"{BOARD} (release)", timeout=LONG)
    wb.clear_notifications()


def test_no_python_is_explained(wb):
    link = wb.server["bin"] / "python3"
    wb.open("echo/echo.system")
    wb.clear_notifications()
    link.unlink()
    try:
        wb.command("SDF: Restart Language Server")
        toast = wb.notification("needs Python 3.11 or newer", timeout=LONG)
        toast.locator(".monaco-button", has_text="Download Python").wait_for(timeout=WAIT)
        toast.locator(".monaco-button", has_text="Open Settings").wait_for(timeout=WAIT)
    finally:
        os.symlink(wb.server["python"], link)
    wb.clear_notifications()
    wb.command("SDF: Restart Language Server")
    wb.status(f"{BOARD} (release)", timeout=LONG)


def test_log_has_the_server_lines_at_their_level(wb):
    """The output channel *SDF Language Server*: the server's INFO lines as [info], a refused
    request (Show CSpace outside a PD) as one line without a traceback."""
    wb.open("echo/echo.system")
    wb.goto(0, 0)
    wb.clear_notifications()
    wb.command("SDF: Show CSpace")
    wb.notification("put the cursor in a protection domain")
    wb.clear_notifications()
    logs = sorted(wb.server["data"].glob("logs/**/*SDF Language Server*.log"))
    assert logs, list(wb.server["data"].glob("logs/**/*"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "request refused" not in logs[-1].read_text():
        time.sleep(0.5)
    text = "\n".join(p.read_text() for p in logs)
    assert re.search(r"\[info\] sdf_lsp\.server: target: ", text), text
    assert re.search(r"\[info\] [\w.]+: request refused: put the cursor in a protection domain", text), text
    assert "Traceback" not in text and not re.search(r"\[error\] (INFO|WARNING) ", text), text


# -- formatting, semantic tokens, linked editing, code lenses ---------------------------------------
def click_until_shown(target, shown, every: int, within: int) -> None:
    """Click `target` until `shown` appears (waiting `every` ms after each click, `within` ms in
    all): a code lens being drawn again can swallow a click."""
    deadline = time.monotonic() + within / 1000
    while True:
        target.click()
        try:
            shown.wait_for(timeout=every)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise


def test_code_lenses_find_references_and_show_cspace(wb, images):
    wb.open("echo/echo.system")
    wb.hide_panel()
    wb.goto(0, 0)  # the regions and the first PD in view: lenses are resolved where they are seen
    lens = wb.page.locator(".monaco-editor .codelens-decoration a, .monaco-editor .codelens-decoration span")
    lens.filter(has_text=re.compile(r"^2 mappings$")).first.wait_for(timeout=LONG)  # tx_ring
    lens.filter(has_text=re.compile(r"^slots \d+/64$")).first.wait_for(timeout=WAIT)
    lens.filter(has_text=re.compile(r"^memory ")).first.wait_for(timeout=WAIT)
    wb.shot(images / "vscode-codelens.png")
    line, _ = find(ECHO, '<protection_domain name="client"')
    wb.goto(line, 0)
    refs = lens.filter(has_text=re.compile(r"^2 references$"))  # `client`: the ends of its two channels
    refs.first.wait_for(timeout=WAIT)
    # the references view: the two ends of client's channels (a lens being drawn again can swallow
    # a click: click until it opens)
    peek = wb.page.locator(".zone-widget .peekview-title", has_text=re.compile(r"Locations \(2\)|2 references"))
    click_until_shown(refs.first, peek.first, every=3000, within=WAIT)
    wb.press("Escape")
    peek.first.wait_for(state="detached", timeout=WAIT)
    # client's CSpace, from the lens beside its references (in view)
    client_lenses = wb.page.locator(
        ".monaco-editor .codelens-decoration", has=wb.page.locator("a", has_text=re.compile(r"^2 references$"))
    )
    slots = client_lenses.locator("a", has_text=re.compile(r"^slots \d+/64$"))
    tab = wb.page.locator(".tabs-container .tab", has_text="CSpace of client")
    click_until_shown(slots.first, tab.first, every=5000, within=LONG)  # as above
    view = wb.webview("CSpace of client")
    view.locator("h3", has_text="CSpace of").wait_for(timeout=WAIT)
    wb.close_editors()


def test_semantic_tokens_colour_names_by_kind(wb, images):
    wb.open("echo/echo.system")
    line = wb.page.locator(".monaco-editor .view-line", has_text='<end pd="client" id="0"')
    name = line.locator("span span", has_text=re.compile(r"^client$"))  # a PD reference: `class`
    name.first.wait_for(timeout=LONG)
    class_colour = "rgb(78, 201, 176)"  # Dark Modern's colour of a class name
    deadline = time.monotonic() + WAIT / 1000
    while name.first.evaluate("e => getComputedStyle(e).color") != class_colour and time.monotonic() < deadline:
        time.sleep(0.2)
    assert name.first.evaluate("e => getComputedStyle(e).color") == class_colour
    # a region's name where it is mapped, and a PD's where it is defined
    region = wb.page.locator(".monaco-editor .view-line", has_text='<map mr="rx_ring" vaddr="0x3004000" perms="r"')
    assert (
        region.locator("span span", has_text=re.compile(r"^rx_ring$")).first.evaluate("e => getComputedStyle(e).color")
        == class_colour
    )
    pd = wb.page.locator(".monaco-editor .view-line", has_text='<protection_domain name="echo_server"')
    assert (
        pd.locator("span span", has_text=re.compile(r"^echo_server$")).first.evaluate("e => getComputedStyle(e).color")
        == class_colour
    )
    # a value that names nothing keeps the grammar's string colour
    value = wb.page.locator(".monaco-editor .view-line span span", has_text=re.compile(r"0x4000000"))
    assert value.first.evaluate("e => getComputedStyle(e).color") != class_colour
    wb.shot(images / "vscode-semantic-tokens.png")


def test_linked_editing_renames_both_tags(wb):
    wb.open("echo/echo.system")
    line, ch = find(ECHO, "<channel>")
    wb.goto(line, ch + len("<chan"))
    # the linked ranges arrive (both tag names are marked; on for SDF files by the extension's defaults)
    marks = wb.page.locator(".monaco-editor .linked-editing-decoration")
    marks.nth(1).wait_for(timeout=WAIT)
    wb.page.keyboard.type("X")
    wb.page.locator(".monaco-editor .view-line", has_text="<chanXnel>").first.wait_for(timeout=WAIT)
    wb.page.locator(".monaco-editor .view-line", has_text="</chanXnel>").first.wait_for(timeout=WAIT)
    wb.revert()
    wb.page.locator(".monaco-editor .view-line", has_text="chanXnel").first.wait_for(state="detached", timeout=WAIT)


MESSY = (
    "<system>\n"
    '<memory_region name="buf"   size="0x1000"/>\n'
    '<protection_domain name="p" priority="10"><program_image path="p.elf"/>\n'
    '<map mr="buf" vaddr="0x2000000"/></protection_domain>\n'
    "</system>\n"
)


def test_format_on_save(wb, images):
    from sdf_lsp.ide.format import format_text

    path = wb.ws / "messy" / "messy.system"
    path.parent.mkdir(exist_ok=True)
    path.write_text(MESSY)
    try:
        wb.open("messy/messy.system")
        line, _ = find(MESSY, "</system>")
        wb.goto(line, len("</system>"))
        wb.press("Enter")  # an edit, so that saving saves
        wb.press("Control+S")
        deadline = time.monotonic() + WAIT / 1000
        while path.read_text() != format_text(MESSY) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert path.read_text() == format_text(MESSY)
        wb.page.locator(".monaco-editor .view-line", has_text='<map mr="buf" vaddr="0x2000000" />').first.wait_for(
            timeout=WAIT
        )
        wb.shot(images / "vscode-format.png")
    finally:
        wb.close_editors()
        path.unlink()
        path.parent.rmdir()
