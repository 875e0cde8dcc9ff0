"""`sdf-lsp.toml`: a project's settings, shared by the command line and the editor.

The file is found by walking up from an SDF's folder (`sdf-lsp.toml`, else `.sdf-lsp.toml`, in
the nearest folder that has one). Every relative path in it is taken from its own folder.

    dialect = "extended"
    search-paths = ["build"]

    [target]
    board = "qemu_virt_aarch64"   # also: config, sdk, file
    config = "debug"
    sdk = "../microkit-sdk-2.3.0"

    [diagnostics]
    select = ["MK-", "SDF"]       # codes or code prefixes
    ignore = ["MK-W1"]
    severity = { "CS011" = "error" }

    [build]
    out-dir = "build"

    [format]
    indent = 4                    # spaces per level, or "tab"
    width = 100                   # a longer tag puts one attribute per line

A file that cannot be used (bad TOML, unknown keys, wrong types, unknown codes, a board that
does not exist) is a `ConfigError` naming the file and, where it can, the line.

The target is chosen per key from layers, highest first: the command line (or the editor's
explicit settings), the environment (`MICROKIT_SDK`, `MICROKIT_BOARD`, `MICROKIT_CONFIG`), the
file, the defaults (`choose_target`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdf_lsp import schema
from sdf_lsp.files import FileError, Kind, read_file
from sdf_lsp.suppress import SEVERITIES, Rules, Selection, is_selector
from sdf_lsp.target import Target
from sdf_lsp.target.boards import BOARDS, DEFAULT_BOARD, DEFAULT_CONFIG
from sdf_lsp.target.load import TargetError, resolve_target

CONFIG_NAMES = ("sdf-lsp.toml", ".sdf-lsp.toml")
#: A configuration file is a few lines; anything much larger is not one.
CONFIG = Kind("a configuration file", 1 << 20)

ENV_SDK, ENV_BOARD, ENV_CONFIG = "MICROKIT_SDK", "MICROKIT_BOARD", "MICROKIT_CONFIG"

#: The keys of each table (the top level is "").
KEYS: dict[str, tuple[str, ...]] = {
    "": ("target", "search-paths", "dialect", "diagnostics", "build", "format"),
    "target": ("board", "config", "sdk", "file"),
    "diagnostics": ("select", "ignore", "severity"),
    "build": ("out-dir",),
    "format": ("indent", "width"),
}
#: What `[format]` accepts: spaces per indentation level, and the widest a tag's line may be.
INDENT_RANGE, WIDTH_RANGE = (1, 16), (20, 1000)


class ConfigError(Exception):
    """A configuration file that cannot be used; `line`/`column` are 1-based when known."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f":{self.line}:{self.column or 1}" if self.line else ""
        return f"{self.path}{where}: {self.message}"


@dataclass(frozen=True)
class ConfigFile:
    """One `sdf-lsp.toml`, validated; paths absolute."""

    path: str
    board: str | None = None
    config: str | None = None
    sdk: str | None = None
    file: str | None = None
    search_paths: tuple[str, ...] | None = None  # None: the file names none
    dialect: str | None = None
    rules: Rules = field(default_factory=Rules)
    out_dir: str | None = None
    format_indent: int | str | None = None  # spaces per level, or "tab" (None: the file says nothing)
    format_width: int | None = None
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)  # "target.board" -> its line

    def error(self, key: str, message: str) -> ConfigError:
        """A problem with `[target] key` of this file, at its line."""
        line = self.lines.get(f"target.{key}") or self.lines.get("target")
        return ConfigError(self.path, message, line, 1 if line else None)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    def layer(self) -> Layer:
        return Layer(self.path, file=self.file, sdk=self.sdk, board=self.board, config=self.config)


def find_config(start: str) -> str | None:
    """The nearest configuration file in `start` (a folder) or a folder above it."""
    folder = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def config_for(path: str) -> str | None:
    """The configuration file that applies to the SDF file `path`."""
    return find_config(os.path.dirname(os.path.abspath(path)))


# ------------------------------------------------------------------------- reading


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


class _Reader:
    """Validates one parsed file; every problem is a ConfigError at the key's line."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()

    def fail(self, table: str, key: str | None, message: str):
        line = self.locate(table, key)
        raise ConfigError(self.path, message, line, 1 if line else None)

    def locate(self, table: str, key: str | None) -> int | None:
        """The line that sets `key` in `table` (or the table's header), found by reading the text."""
        current = ""
        header = None
        for i, raw in enumerate(self.lines, 1):
            line = raw.strip()
            m = re.match(r"\[\s*([^\]]+?)\s*\]", line)
            if m:
                current = m.group(1).replace('"', "").replace(" ", "")
                if current == table and key is None:
                    return i
                if current == table:
                    header = i
                continue
            if key is None:
                continue
            m = re.match(r'"?([A-Za-z0-9_.-]+)"?\s*=', line)
            if not m:
                continue
            dotted = m.group(1)
            full = f"{current}.{dotted}" if current else dotted
            if full == f"{table}.{key}" if table else full == key:
                return i
            if not table and current == "" and dotted.startswith(f"{key}."):
                return i
        return header

    def table(self, data: Any, name: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("", name, f"'{name}' must be a table ([{name}]), got {_describe(data)}")
        known = KEYS[name]
        for key in data:
            if key not in known:
                where = f"in [{name}]" if name else "at the top level"
                self.fail(name, key, f"unknown key '{key}' {where} (known keys: {', '.join(known)})")
        return data

    def string(self, data: dict, table: str, key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(table, key, f"{self._name(table, key)} must be a non-empty string, got {_describe(value)}")
        return value

    def strings(self, data: dict, table: str, key: str) -> list[str] | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(table, key, f"{self._name(table, key)} must be an array of strings, got {_describe(value)}")
        return value

    def codes(self, data: dict, table: str, key: str) -> tuple[str, ...] | None:
        values = self.strings(data, table, key)
        if values is None:
            return None
        for code in values:
            if not is_selector(code):
                self.fail(table, key, f"{self._name(table, key)}: unknown diagnostic code '{code}'")
        return tuple(values)

    @staticmethod
    def _name(table: str, key: str) -> str:
        return f"[{table}] {key}" if table else f"'{key}'"


def _toml_position(err: tomllib.TOMLDecodeError) -> tuple[str, int | None, int | None]:
    msg = str(err)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m:
        return msg[: m.start()], int(m.group(1)), int(m.group(2))
    m = re.search(r"\s*\(at end of document\)$", msg)
    return (msg[: m.start()] if m else msg), None, None


def load_config(path: str) -> ConfigFile:
    """Read and validate a configuration file; raises ConfigError."""
    path = os.path.abspath(path)
    try:
        data = read_file(path, CONFIG)
    except FileError as err:
        raise ConfigError(path, err.reason) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"the file is not valid UTF-8 (byte {err.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message, line, column = _toml_position(err)
        raise ConfigError(path, f"not valid TOML: {message}", line, column) from None
    return _validate(path, text, raw)


def _validate(path: str, text: str, raw: dict[str, Any]) -> ConfigFile:
    r = _Reader(path, text)
    top = r.table(raw, "")
    folder = os.path.dirname(path)

    def here(p: str | None) -> str | None:
        if p is None:
            return None
        p = os.path.expanduser(p)
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(folder, p))

    target = r.table(top.get("target", {}), "target")
    diags = r.table(top.get("diagnostics", {}), "diagnostics")
    build = r.table(top.get("build", {}), "build")
    fmt = r.table(top.get("format", {}), "format")
    dialect = r.string(top, "", "dialect")
    if dialect is not None and dialect not in schema.DIALECTS:
        r.fail("", "dialect", f"'dialect' must be one of {', '.join(schema.DIALECTS)}, got \"{dialect}\"")
    paths = r.strings(top, "", "search-paths")
    severity_table = diags.get("severity", {})
    if not isinstance(severity_table, dict):
        r.fail("diagnostics", "severity", f"[diagnostics] severity must be a table, got {_describe(severity_table)}")
    severity: list[tuple[str, int]] = []
    for code, value in severity_table.items():
        if not is_selector(code):
            r.fail("diagnostics.severity", code, f"[diagnostics.severity]: unknown diagnostic code '{code}'")
        if not isinstance(value, str) or value not in SEVERITIES:
            r.fail(
                "diagnostics.severity",
                code,
                f"[diagnostics.severity] {code} must be one of error, warning, information, hint, got {_describe(value)}",
            )
        severity.append((code, SEVERITIES[value]))
    select = r.codes(diags, "diagnostics", "select")
    ignore = r.codes(diags, "diagnostics", "ignore")
    layers = (Selection(select, ignore or ()),) if select is not None or ignore else ()
    config = ConfigFile(
        path=path,
        board=r.string(target, "target", "board"),
        config=r.string(target, "target", "config"),
        sdk=here(r.string(target, "target", "sdk")),
        file=here(r.string(target, "target", "file")),
        search_paths=tuple(here(p) or p for p in paths) if paths is not None else None,
        dialect=dialect,
        rules=Rules(layers, tuple(severity)),
        out_dir=here(r.string(build, "build", "out-dir")),
        format_indent=_indent(r, fmt),
        format_width=_integer(r, fmt, "width", WIDTH_RANGE),
        lines=_target_lines(r),
    )
    _check_target(r, config)
    return config


def _integer(r: _Reader, data: dict, key: str, bounds: tuple[int, int]) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        r.fail("format", key, f"[format] {key} must be a whole number from {lo} to {hi}, got {_describe(value)}")
    return value


def _indent(r: _Reader, data: dict) -> int | str | None:
    if data.get("indent") == "tab":
        return "tab"
    if isinstance(data.get("indent"), str):
        r.fail(
            "format", "indent", f'[format] indent must be a number of spaces or "tab", got {_describe(data["indent"])}'
        )
    return _integer(r, data, "indent", INDENT_RANGE)


def _target_lines(r: _Reader) -> dict[str, int]:
    out = {f"target.{key}": line for key in KEYS["target"] if (line := r.locate("target", key)) is not None}
    header = r.locate("target", None)
    return out | ({"target": header} if header is not None else {})


def _check_target(r: _Reader, c: ConfigFile) -> None:
    """What the file alone can tell about its target: the SDK folder, a board and config it has."""
    if c.file is not None:
        if not os.path.isfile(c.file):
            r.fail("target", "file", f"[target] file: no such target file '{c.file}'")
        return
    if c.sdk is not None:
        if not os.path.isdir(c.sdk):
            r.fail("target", "sdk", f"[target] sdk: Microkit SDK directory '{c.sdk}' does not exist")
        if c.board is not None:
            boards = _subdirs(os.path.join(c.sdk, "board"))
            if c.board not in boards:
                r.fail(
                    "target",
                    "board",
                    f"[target] board: board '{c.board}' is not in the SDK {c.sdk} (its boards: {', '.join(boards) or 'none'})",
                )
            if c.config is not None:
                configs = _subdirs(os.path.join(c.sdk, "board", c.board))
                if c.config not in configs:
                    r.fail(
                        "target",
                        "config",
                        f"[target] config: board '{c.board}' of the SDK has no config '{c.config}' "
                        f"(its configs: {', '.join(configs) or 'none'})",
                    )
        return
    if c.board is not None:
        env_sdk = os.environ.get(ENV_SDK, "").strip()
        if c.board in BOARDS or (env_sdk and os.path.isdir(os.path.join(env_sdk, "board", c.board))):
            info = BOARDS.get(c.board)
            if info is not None and c.config is not None and c.config not in info.configs and not env_sdk:
                r.fail(
                    "target",
                    "config",
                    f"[target] config: board '{c.board}' has no config '{c.config}' (configs: {', '.join(info.configs)})",
                )
            return
        r.fail(
            "target",
            "board",
            f"[target] board: unknown board '{c.board}' (built-in boards: {', '.join(BOARDS)}; "
            "a board of a Microkit SDK needs [target] sdk)",
        )


def _subdirs(path: str) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir())
    except OSError:
        return []


# ------------------------------------------------------------------------- the target


@dataclass(frozen=True)
class Layer:
    """What one source says about the target; `origin` names it in messages."""

    origin: str
    file: str | None = None
    sdk: str | None = None
    board: str | None = None
    config: str | None = None
    origins: Mapping[str, str] | None = None  # per key, when keys of one layer have different names

    def origin_of(self, key: str) -> str:
        return (self.origins or {}).get(key, self.origin)


def environment_layer(environ: Mapping[str, str] | None = None) -> Layer:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    return Layer(
        "the environment",
        sdk=get(ENV_SDK),
        board=get(ENV_BOARD),
        config=get(ENV_CONFIG),
        origins={"sdk": ENV_SDK, "board": ENV_BOARD, "config": ENV_CONFIG},
    )


@dataclass(frozen=True)
class TargetChoice:
    """The target's parts as chosen from the layers, and which layer gave each."""

    file: str | None = None
    sdk: str | None = None
    board: str | None = None
    config: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what was left out and why (for `check -v`)

    def describe(self) -> str:
        parts = [
            f"{k} {getattr(self, k)} (from {self.origins[k]})"
            for k in ("file", "sdk", "board", "config")
            if getattr(self, k)
        ]
        return ", ".join(parts) if parts else "the default target"


class ChoiceError(Exception):
    """The chosen target cannot be used; `origin` is the layer that named the failing part, `key` the part."""

    def __init__(self, origin: str, key: str, message: str):
        super().__init__(message)
        self.origin = origin
        self.key = key


def choose_target(layers: Sequence[Layer]) -> TargetChoice:
    """Each part from the highest layer that gives it. A target file is used unless a higher
    layer names a board or an SDK; `MICROKIT_SDK` is used only when it has the board (the
    chosen one, else the default), as an SDK the user may have set for another project."""
    origins: dict[str, str] = {}
    notes: list[str] = []
    chosen: dict[str, str | None] = {}
    for key in ("board", "config"):
        for layer in layers:
            value = getattr(layer, key)
            if value:
                chosen[key], origins[key] = value, layer.origin_of(key)
                break
    board = chosen.get("board")
    for layer in layers:
        if not layer.sdk:
            continue
        if layer.origin_of("sdk") == ENV_SDK:
            wanted = board or DEFAULT_BOARD
            if not os.path.isdir(os.path.join(os.path.expanduser(layer.sdk), "board", wanted)):
                notes.append(f"{ENV_SDK}={layer.sdk} is not used: it has no board '{wanted}'")
                continue
        chosen["sdk"], origins["sdk"] = layer.sdk, layer.origin_of("sdk")
        if layer.origin_of("sdk") == ENV_SDK and not board:
            chosen["board"], origins["board"] = DEFAULT_BOARD, "the defaults"
        break
    for rank, layer in enumerate(layers):
        if not layer.file:
            continue
        above = layers[:rank]
        if any(lay.board or lay.sdk for lay in above):
            notes.append(
                f"the target file {layer.file} (from {layer.origin_of('file')}) is not used: a board or SDK is named above it"
            )
            break
        chosen["file"], origins["file"] = layer.file, layer.origin_of("file")
        break
    if chosen.get("file"):
        for key in ("sdk", "board", "config"):
            if chosen.pop(key, None) is not None:
                origins.pop(key, None)
    return TargetChoice(
        chosen.get("file"), chosen.get("sdk"), chosen.get("board"), chosen.get("config"), origins, tuple(notes)
    )


def resolve_choice(choice: TargetChoice, warn=None, release=None) -> Target:
    """The target of a choice; raises ChoiceError naming the layer whose part failed (`release`:
    the Microkit release checked against, whose board table a built-in board must be in)."""
    try:
        return resolve_target(
            target_file=choice.file,
            sdk=choice.sdk,
            board=choice.board,
            config=choice.config,
            warn=warn,
            release=release,
        )
    except TargetError as err:
        key = _blame(choice)
        raise ChoiceError(choice.origins.get(key, "the defaults"), key, str(err)) from None


def _blame(choice: TargetChoice) -> str:
    """Which part of a failed choice was wrong (the part whose layer is named, where it has one)."""
    o = choice.origins
    if choice.file:
        return "file"
    if choice.sdk:
        sdk = os.path.expanduser(choice.sdk)
        if not choice.board or not os.path.isdir(sdk):
            return "sdk"
        if not os.path.isdir(os.path.join(sdk, "board", choice.board)):
            return "board" if "board" in o else "sdk"
        if not os.path.isdir(os.path.join(sdk, "board", choice.board, choice.config or DEFAULT_CONFIG)):
            return "config" if "config" in o else "sdk"
        return "sdk"
    if choice.board and choice.board not in BOARDS:
        return "board"
    return "config" if "config" in o else "board"


__all__ = [
    "CONFIG_NAMES",
    "ENV_BOARD",
    "ENV_CONFIG",
    "ENV_SDK",
    "ChoiceError",
    "ConfigError",
    "ConfigFile",
    "Layer",
    "TargetChoice",
    "choose_target",
    "config_for",
    "environment_layer",
    "find_config",
    "load_config",
    "resolve_choice",
]
