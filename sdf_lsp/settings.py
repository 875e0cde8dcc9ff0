"""Editor settings (section `sdf`), and what a document is analysed against: the settings the
user set, then the environment (`MICROKIT_SDK`, `MICROKIT_BOARD`, `MICROKIT_CONFIG`), then the
document's `sdf-lsp.toml` (`sdf_lsp.config`), then the defaults (`editor_setup`).

A setting left empty or at its default is not set: the file decides it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sdf_lsp import schema
from sdf_lsp.config import ChoiceError, ConfigError, ConfigFile, Layer, TargetChoice, choose_target, environment_layer
from sdf_lsp.config import resolve_choice as resolve_target_choice
from sdf_lsp.suppress import NO_RULES, Rules
from sdf_lsp.target import Target
from sdf_lsp.target.load import default_target, sdk_release

#: How the editor's settings are named in messages about the target.
EDITOR = "editor settings"


def resolve_dialect(
    chosen: str | None, release: schema.Release | None, sdk: str | None = None
) -> tuple[str, str | None]:
    """The dialect a system is checked in, and why the choice cannot stand (None: it can).

    `chosen` is the user's dialect (None: not chosen), `release` the Microkit release of the
    SDK in use (its VERSION; None: no SDK or unknown). Without a choice an SDK older than 2.3
    selects its own release's rules; otherwise (no SDK, a 2.3 SDK) the default is `extended`.
    `extended` with an older SDK is an error: the dialect is checked and built for Microkit
    2.3's capDL initialiser, which that SDK does not have; the dialect returned with the error
    is the SDK's own release."""
    old = release is not None and release < schema.LATEST
    if chosen is None:
        return (schema.dialect_of(release) if old and release is not None else schema.EXTENDED), None
    if chosen == schema.EXTENDED and old and release is not None:
        own = schema.dialect_of(release)
        where = f" ({sdk})" if sdk else ""
        return own, (
            f"dialect 'extended' needs a Microkit {schema.release_text(schema.LATEST)} SDK, but the SDK in use{where} is "
            f"Microkit {schema.release_text(release)}: the extended dialect is checked and built for Microkit "
            f"{schema.release_text(schema.LATEST)}'s capDL initialiser, which that SDK does not have; choose dialect "
            f"'{own}' (or leave the dialect unset to follow the SDK), or use a Microkit "
            f"{schema.release_text(schema.LATEST)} SDK"
        )
    return chosen, None


@dataclass(frozen=True)
class Settings:
    target_file: str | None = None
    target_board: str | None = None
    target_config: str = "release"
    target_sdk: str | None = None
    search_paths: tuple[str, ...] = ()
    dialect: str | None = None  # as chosen (None: follow the SDK, see `resolve_dialect`)
    authority_hints: bool = True
    build_out_dir: str | None = None
    workspace_check: bool = True  # check every *.system of the workspace, open or not
    problems: tuple[str, ...] = field(default=(), compare=False)
    explicit: frozenset[str] = frozenset()  # the settings the user set (to something else than the default)

    def layer(self, root: str | None) -> Layer:
        """The target parts the user set, paths taken from `root` (the workspace folder)."""

        def abs_(p: str | None) -> str | None:
            if not p:
                return None
            p = os.path.expanduser(p)
            return p if os.path.isabs(p) or root is None else os.path.join(root, p)

        config = self.target_config if "target.config" in self.explicit else None
        return Layer(EDITOR, abs_(self.target_file), abs_(self.target_sdk), self.target_board or None, config)

    def resolve(self, root: str | None, warn=None, config: ConfigFile | None = None) -> tuple[Target, str | None]:
        """The selected target, or the default one and the reason the selection failed.

        The parts the user set win over the environment, which wins over `config` (the
        document's sdf-lsp.toml). $MICROKIT_SDK is used only when it has the board
        (`sdf.target.board`, else the default board): an SDK set for another project is not an
        error when it lacks the board."""
        layers = [self.layer(root), environment_layer(), *([config.layer()] if config is not None else [])]
        target, _, problem = _resolve(choose_target(layers), warn)
        return target, problem

    @property
    def dialect_set(self) -> bool:
        return self.dialect is not None

    def paths(self, root: str | None) -> list[str]:
        out = []
        for p in self.search_paths:
            p = os.path.expanduser(p)
            out.append(p if os.path.isabs(p) or root is None else os.path.join(root, p))
        return out


def _resolve(
    choice: TargetChoice, warn, release: schema.Release | None = None
) -> tuple[Target, ChoiceError | None, str | None]:
    """The chosen target, or the default one, the error and the reason the selection failed
    (`release`: the Microkit release checked against, whose boards a built-in board must be in)."""
    try:
        return resolve_target_choice(choice, warn, release), None, None
    except ChoiceError as err:
        origin = "" if err.origin == EDITOR else f"{err.origin}: "
        return default_target(), err, f"{origin}{err}; using the default target qemu_virt_aarch64 (release)"


@dataclass(frozen=True)
class EditorSetup:
    """What one document is analysed against, and what went wrong choosing it."""

    target: Target
    dialect: str
    authority_hints: bool
    search_paths: tuple[str, ...]  # the configured ones, then the workspace folder (the SDF's folder comes last)
    rules: Rules = NO_RULES
    out_dir: str | None = None  # the configured build folder (one folder per system inside it)
    config: ConfigFile | None = None
    config_error: ConfigError | None = None  # the file that could not be used (then its settings are not)
    problem: str | None = None  # why the target is not the one configured
    choice: TargetChoice | None = None
    dialect_error: str | None = None  # why the chosen dialect cannot be used with the SDK in use


def editor_setup(settings: Settings, folder: str | None, config_path: str | None, warn=None, load=None) -> EditorSetup:
    """The setup of a document under the workspace folder `folder` whose sdf-lsp.toml is
    `config_path`. A file that cannot be used (or whose target cannot) is `config_error`: the
    document is then analysed as if it had no file."""
    from sdf_lsp.config import load_config

    config: ConfigFile | None = None
    error: ConfigError | None = None
    if config_path is not None:
        try:
            config = (load or load_config)(config_path)
        except ConfigError as err:
            error = err
    layers = [settings.layer(folder), environment_layer(), *([config.layer()] if config is not None else [])]
    choice = choose_target(layers)

    def dialect_of(choice: TargetChoice, config: ConfigFile | None) -> tuple[str, str | None]:
        chosen = settings.dialect if settings.dialect_set else (config.dialect if config is not None else None)
        release = sdk_release(choice.sdk, warn) if choice.sdk else None
        return resolve_dialect(chosen, release, choice.sdk)

    dialect, dialect_error = dialect_of(choice, config)
    target, failed, problem = _resolve(choice, warn, schema.release_of(dialect))
    if failed is not None and config is not None and failed.origin == config.path:
        error = config.error(failed.key, f"[target] {failed.key}: {failed}")
        config = None
        choice = choose_target(layers[:2])
        dialect, dialect_error = dialect_of(choice, None)
        target, _, problem = _resolve(choice, warn, schema.release_of(dialect))
    if settings.search_paths or config is None or config.search_paths is None:
        paths = settings.paths(folder)
    else:
        paths = list(config.search_paths)
    if folder is not None:
        paths.append(folder)  # the working directory's place: microkit searches it after the search paths
    out_dir = None
    if settings.build_out_dir:
        out_dir = _abs(settings.build_out_dir, folder)
    elif config is not None:
        out_dir = config.out_dir
    return EditorSetup(
        target,
        dialect,
        settings.authority_hints,
        tuple(dict.fromkeys(paths)),
        config.rules if config is not None else NO_RULES,
        out_dir,
        config,
        error,
        problem,
        choice,
        dialect_error,
    )


def _abs(p: str, root: str | None) -> str:
    p = os.path.expanduser(p)
    return p if os.path.isabs(p) or root is None else os.path.join(root, p)


def _get(d: dict, dotted: str):
    """`a.b.c` from nested dicts, or from a flat key `sdf.a.b.c` / `a.b.c`."""
    if not isinstance(d, dict):
        return None
    for key in (dotted, f"sdf.{dotted}"):
        if key in d:
            return d[key]
    cur = d.get("sdf", d) if isinstance(d.get("sdf"), dict) else d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def parse_settings(raw) -> Settings:
    """Settings from initializationOptions / didChangeConfiguration; bad values are reported, not fatal."""
    raw = raw if isinstance(raw, dict) else {}
    problems = []

    def string(key):
        v = _get(raw, key)
        if v is None or v == "":
            return None
        if not isinstance(v, str):
            problems.append(f"sdf.{key} must be a string, got {v!r}")
            return None
        return v

    paths = _get(raw, "searchPaths")
    if paths is None:
        paths = []
    elif isinstance(paths, str):
        paths = [paths]
    elif not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        problems.append(f"sdf.searchPaths must be a list of strings, got {paths!r}")
        paths = []
    dialect = string("dialect")
    if dialect is not None and dialect not in schema.DIALECTS:
        problems.append(f"sdf.dialect must be one of {', '.join(schema.DIALECTS)}, got {dialect!r}")
        dialect = None
    hints = _get(raw, "hints.authority")
    if hints is not None and not isinstance(hints, bool):
        problems.append(f"sdf.hints.authority must be true or false, got {hints!r}")
        hints = None
    check = _get(raw, "workspace.check")
    if check is not None and not isinstance(check, bool):
        problems.append(f"sdf.workspace.check must be true or false, got {check!r}")
        check = None
    values = {
        key: string(key) for key in ("target.file", "target.board", "target.config", "target.sdk", "build.outDir")
    }
    # a value left at its default is not set (VS Code sends every default): the sdf-lsp.toml decides it
    explicit = {key for key, value in values.items() if value is not None and value != DEFAULTS.get(key)}
    explicit |= {"dialect"} if dialect is not None else set()
    explicit |= {"searchPaths"} if paths else set()
    explicit |= {"hints.authority"} if hints is False else set()
    explicit |= {"workspace.check"} if check is False else set()
    return Settings(
        explicit=frozenset(explicit),
        target_file=values["target.file"],
        target_board=values["target.board"],
        target_config=values["target.config"] or "release",
        target_sdk=values["target.sdk"],
        search_paths=tuple(paths),
        dialect=dialect,
        authority_hints=True if hints is None else hints,
        build_out_dir=values["build.outDir"],
        workspace_check=True if check is None else check,
        problems=tuple(problems),
    )


#: The defaults a client may send for settings the user never set.
DEFAULTS = {"target.config": "release"}


DEFAULT = Settings()
