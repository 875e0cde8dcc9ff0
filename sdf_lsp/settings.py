"""Editor settings (section `sdf`) and the target they select."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sdf_lsp import schema
from sdf_lsp.target import Target
from sdf_lsp.target.boards import DEFAULT_BOARD
from sdf_lsp.target.listing import SDK_ENV, sdk_from_environment
from sdf_lsp.target.load import TargetError, default_target, resolve_target


@dataclass(frozen=True)
class Settings:
    target_file: str | None = None
    target_board: str | None = None
    target_config: str = "release"
    target_sdk: str | None = None
    search_paths: tuple[str, ...] = ()
    dialect: str = schema.EXTENDED
    authority_hints: bool = True
    build_out_dir: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    def resolve(self, root: str | None, warn=None) -> tuple[Target, str | None]:
        """The selected target, or the default one and the reason the selection failed.

        Without `sdf.target.sdk` (and without a target file) the SDK named by $MICROKIT_SDK
        is used when it has the board (`sdf.target.board`, else the default board); an SDK
        the user never configured is not an error when it lacks the board."""

        def abs_(p: str | None) -> str | None:
            if not p:
                return None
            p = os.path.expanduser(p)
            return p if os.path.isabs(p) or root is None else os.path.join(root, p)

        board = self.target_board or None
        env_sdk = None if self.target_sdk or self.target_file else sdk_from_environment()
        env_problem = None
        if env_sdk and (Path(env_sdk).expanduser() / "board" / (board or DEFAULT_BOARD)).is_dir():
            try:
                return resolve_target(
                    sdk=env_sdk, board=board or DEFAULT_BOARD, config=self.target_config or None, warn=warn
                ), None
            except TargetError as err:
                env_problem = f"{SDK_ENV}: {err}"
        try:
            target = resolve_target(
                target_file=abs_(self.target_file),
                sdk=abs_(self.target_sdk),
                board=board,
                config=self.target_config or None,
                warn=warn,
            )
            return target, (f"{env_problem}; using {target.label}" if env_problem else None)
        except TargetError as err:
            problem = f"{err}; using the default target qemu_virt_aarch64 (release)"
            return default_target(), (f"{env_problem}; {problem}" if env_problem else problem)

    def paths(self, root: str | None) -> list[str]:
        out = []
        for p in self.search_paths:
            p = os.path.expanduser(p)
            out.append(p if os.path.isabs(p) or root is None else os.path.join(root, p))
        return out


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
    dialect = string("dialect") or schema.EXTENDED
    if dialect not in schema.DIALECTS:
        problems.append(f"sdf.dialect must be one of {', '.join(schema.DIALECTS)}, got {dialect!r}")
        dialect = schema.EXTENDED
    hints = _get(raw, "hints.authority")
    if hints is not None and not isinstance(hints, bool):
        problems.append(f"sdf.hints.authority must be true or false, got {hints!r}")
        hints = None
    return Settings(
        target_file=string("target.file"),
        target_board=string("target.board"),
        target_config=string("target.config") or "release",
        target_sdk=string("target.sdk"),
        search_paths=tuple(paths),
        dialect=dialect,
        authority_hints=True if hints is None else hints,
        build_out_dir=string("build.outDir"),
        problems=tuple(problems),
    )


DEFAULT = Settings()
