"""Kernel/board targets: built-in boards, Microkit SDK directories, target JSON files."""

from sdf_lsp.target.model import ARCHES, CONFIGS, MemRange, SdkFiles, Target

__all__ = ["ARCHES", "CONFIGS", "MemRange", "SdkFiles", "Target"]
