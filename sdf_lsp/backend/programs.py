"""Program images: every PD's `program_image` found on the search paths and loaded.

Upstream finds each image with `get_full_path` (the first search path under
which it exists) and, with `path_for_symbols`, takes the symbols from a second
file.  The ELF list is the PDs in global order with the monitor last, so a
PD's ELF index is its global index.  One file named by several PDs is read
once; every PD still gets its own patched copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.backend import errors as E
from sdf_lsp.backend.errors import BuildError
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.files import find_on_paths
from sdf_lsp.model.types import ProtectionDomain, span_of
from sdf_lsp.resolve.system import System


@dataclass(frozen=True)
class Program:
    """A PD's program image as loaded (symbols already taken from `path_for_symbols`)."""

    pd: ProtectionDomain
    path: str  # where the image was found
    image: ElfImage

    @property
    def label(self) -> str:
        """The image as the SDF names it (upstream prints `pd.program_image`)."""
        return self.pd.program_image or self.path


def load_programs(system: System, search_paths: list[str]) -> list[Program]:
    """Every PD's program image, in global PD order; all problems at once as a `BuildError`."""
    cache: dict[str, ElfImage | Diagnostic] = {}
    programs: list[Program] = []
    problems: list[Diagnostic] = []
    for pd in system.pds:
        el = pd.program_image_el
        image_span = span_of(el, "path")
        path = find_on_paths(pd.program_image, search_paths)
        if path is None:
            problems.append(
                E.problem(image_span, E.PROGRAM_NOT_FOUND, f"unable to find program image: '{pd.program_image}'")
            )
            continue
        image = _load(path, pd, image_span, cache)
        if pd.path_for_symbols is not None:
            sym_span = span_of(el, "path_for_symbols")
            sym_path = find_on_paths(pd.path_for_symbols, search_paths)
            if sym_path is None:
                problems.append(
                    E.problem(
                        sym_span,
                        E.SYMBOLS_NOT_FOUND,
                        f"unable to find program image for symbols: '{pd.path_for_symbols}'",
                    )
                )
                continue
            symbols = _load(sym_path, pd, sym_span, cache)
            if isinstance(image, ElfImage) and isinstance(symbols, ElfImage):
                image = image.with_symbols_from(symbols)
            elif isinstance(symbols, Diagnostic):
                problems.append(symbols)
        if isinstance(image, Diagnostic):
            problems.append(image)
            continue
        programs.append(Program(pd, path, image))
    if problems:
        raise BuildError(problems)
    return programs


def _load(path: str, pd: ProtectionDomain, span, cache: dict) -> ElfImage | Diagnostic:
    hit = cache.get(path)
    if hit is None:
        try:
            hit = ElfImage.load(path)
        except ElfError as err:
            hit = E.problem(span, E.BAD_ELF, f"failed to parse ELF '{path}' for PD '{pd.name}': {err}")
        cache[path] = hit
    return hit


def load_sdk_elf(path: str | None, what: str, span) -> ElfImage:
    """The monitor or the capDL initialiser of the SDK."""
    if path is None:
        raise E.fail(
            span, E.NO_SDK, f"the target has no {what} ELF: building needs a Microkit SDK (--sdk DIR --board NAME)"
        )
    try:
        return ElfImage.load(path)
    except ElfError as err:
        raise E.fail(span, E.BAD_ELF, f"failed to parse the {what} ELF '{path}': {err}") from None
