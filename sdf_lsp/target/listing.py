"""Which boards a user can pick: the built-in table and the boards of a Microkit SDK."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sdf_lsp.target.boards import BOARDS
from sdf_lsp.target.model import CONFIGS

SDK_ENV = "MICROKIT_SDK"  # the variable Microkit's own Makefiles read


@dataclass(frozen=True)
class BoardChoice:
    board: str
    source: str  # "sdk" | "builtin"
    configs: tuple[str, ...]
    arch: str | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["configs"] = list(self.configs)
        return d


def _config_order(name: str) -> tuple[int, str]:
    return (CONFIGS.index(name) if name in CONFIGS else len(CONFIGS), name)


def _sdk_arch(config_dir: Path) -> str | None:
    try:
        data = json.loads((config_dir / "include" / "kernel" / "gen_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    arch = data.get("SEL4_ARCH") if isinstance(data, dict) else None
    return arch if isinstance(arch, str) else None


def sdk_boards(sdk_dir: str | os.PathLike) -> list[BoardChoice]:
    """`board/<board>/<config>/` of an SDK (boards without any config folder are left out)."""
    boards_dir = Path(sdk_dir).expanduser() / "board"
    out = []
    try:
        entries = sorted(p for p in boards_dir.iterdir() if p.is_dir())
    except OSError:
        return []
    for board_dir in entries:
        try:
            configs = sorted((p.name for p in board_dir.iterdir() if p.is_dir()), key=_config_order)
        except OSError:
            continue
        if configs:
            out.append(BoardChoice(board_dir.name, "sdk", tuple(configs), _sdk_arch(board_dir / configs[0])))
    return out


def builtin_boards() -> list[BoardChoice]:
    return [BoardChoice(name, "builtin", info.configs, info.arch) for name, info in BOARDS.items()]


def list_boards(sdk_dir: str | os.PathLike | None = None) -> list[BoardChoice]:
    """The SDK's boards first (those are what a build can use), then the built-in table."""
    return (sdk_boards(sdk_dir) if sdk_dir else []) + builtin_boards()


def sdk_from_environment() -> str | None:
    value = os.environ.get(SDK_ENV, "").strip()
    return value or None
