"""Editor settings (section `sdf`) and the target they select."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sdf_lsp import schema
from sdf_lsp.target import Target
from sdf_lsp.target.boards import DEFAULT_BOARD
from sdf_lsp.target.listing import SDK_ENV, sdk_from_environment
from sdf_lsp.target.load import TargetError, default_target, resolve_target, sdk_release


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
    problems: tuple[str, ...] = field(default=(), compare=False)

    def sdk_dir(self, root: str | None) -> str | None:
        """The SDK whose VERSION picks the dialect: `sdf.target.sdk`, else $MICROKIT_SDK
        (unless a target file is given)."""
        if self.target_sdk:
            p = os.path.expanduser(self.target_sdk)
            return p if os.path.isabs(p) or root is None else os.path.join(root, p)
        return None if self.target_file else sdk_from_environment()

    def resolve_dialect(self, root: str | None, warn=None) -> tuple[str, str | None]:
        """The dialect in force and why the configured one cannot be used (`resolve_dialect`)."""
        sdk = self.sdk_dir(root)
        release = sdk_release(sdk, warn) if sdk else None
        return resolve_dialect(self.dialect, release, sdk)

    def resolve(self, root: str | None, warn=None, release: schema.Release | None = None) -> tuple[Target, str | None]:
        """The selected target, or the default one and the reason the selection failed
        (`release`: the Microkit release checked against, whose boards a built-in board must be in).

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
                release=release,
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
    dialect = string("dialect")
    if dialect is not None and dialect not in schema.DIALECTS:
        problems.append(f"sdf.dialect must be one of {', '.join(schema.DIALECTS)}, got {dialect!r}")
        dialect = None
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
