"""What the analysis reads from files, as plain facts handed in by the caller.

The core does no I/O: a front-end passes a `FileAccess` that finds prefill files and program
images on its search paths (`sdf_lsp.files`); tests pass `NoFiles` or their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PrefillInfo:
    error: str | None = None  # None | "missing" | "unreadable"
    length: int | None = None
    path: str | None = None  # where it was found


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    perms: str  # "rwx" with "-" for a missing right


@dataclass(frozen=True)
class ProgramInfo:
    """What the layout and the pictures need of a program image: where its loadable segments go."""

    segments: tuple[Segment, ...] = ()
    error: str | None = None  # why there are no segments: not found, or not a readable ELF
    path: str | None = None  # where it was found

    @property
    def found(self) -> bool:
        return self.error is None


class FileAccess(Protocol):
    def prefill(self, path: str) -> PrefillInfo: ...

    def program(self, path: str) -> ProgramInfo:
        """The program image's loadable segments (`error` says why there are none)."""
        ...


class NoFiles:
    """Every file is missing (for tests that feed text only)."""

    def prefill(self, path: str) -> PrefillInfo:
        return PrefillInfo(error="missing")

    def program(self, path: str) -> ProgramInfo:
        return ProgramInfo(error="not found on the search paths")
