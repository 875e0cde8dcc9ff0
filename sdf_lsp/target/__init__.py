"""Kernel/board targets: built-in boards, Microkit SDK directories, target JSON files."""

from sdf_lsp.target.boards import BOARDS, board_names, default_object_sizes
from sdf_lsp.target.load import (
    TargetError,
    builtin_target,
    default_target,
    load_sdk,
    load_target_file,
    resolve_target,
)
from sdf_lsp.target.model import ARCHES, CONFIGS, MemRange, SdkFiles, Target

__all__ = [
    "ARCHES",
    "BOARDS",
    "CONFIGS",
    "MemRange",
    "SdkFiles",
    "Target",
    "TargetError",
    "board_names",
    "builtin_target",
    "default_object_sizes",
    "default_target",
    "load_sdk",
    "load_target_file",
    "resolve_target",
]
