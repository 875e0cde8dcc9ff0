"""Program images: every PD's `program_image` found on the search paths and loaded.

Upstream finds each image with `get_full_path` (the first search path under
which it exists) and, with `path_for_symbols`, takes the symbols from a second
file.  The ELF list is the PDs in global order with the monitor last, so a
PD's ELF index is its global index.  Images come from the `ProgramImages` the
analysis read them through, so a build parses each file once (also when several
PDs name it); every PD still gets its own patched copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.backend import errors as E
from sdf_lsp.backend.errors import BuildError
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.files import ProgramImages, SearchPathFiles, UnreadableImage
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


def load_programs(system: System, files: SearchPathFiles) -> list[Program]:
    """Every PD's program image, in global PD order; all problems at once as a `BuildError`."""
    programs: list[Program] = []
    problems: list[Diagnostic] = []
    for pd in system.pds:
        el = pd.program_image_el
        image_span = span_of(el, "path")
        path = files.find(pd.program_image)
        if path is None:
            problems.append(
                E.problem(image_span, E.PROGRAM_NOT_FOUND, f"unable to find program image: '{pd.program_image}'")
            )
            continue
        image = _load(files.images, path, pd, image_span)
        if pd.path_for_symbols is not None:
            sym_span = span_of(el, "path_for_symbols")
            sym_path = files.find(pd.path_for_symbols)
            if sym_path is None:
                problems.append(
                    E.problem(
                        sym_span,
                        E.SYMBOLS_NOT_FOUND,
                        f"unable to find program image for symbols: '{pd.path_for_symbols}'",
                    )
                )
                continue
            symbols = _load(files.images, sym_path, pd, sym_span)
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


def _load(images: ProgramImages, path: str, pd: ProtectionDomain, span) -> ElfImage | Diagnostic:
    try:
        return images.load(path)
    except UnreadableImage as err:
        return E.problem(span, E.BAD_ELF, f"failed to read the program image of PD '{pd.name}': {err}")
    except ElfError as err:
        return E.problem(span, E.BAD_ELF, f"failed to parse ELF '{path}' for PD '{pd.name}': {err}")


def load_sdk_elf(images: ProgramImages, path: str | None, what: str, span) -> ElfImage:
    """The monitor or the capDL initialiser of the SDK."""
    if path is None:
        raise E.fail(
            span, E.NO_SDK, f"the target has no {what} ELF: building needs a Microkit SDK (--sdk DIR --board NAME)"
        )
    try:
        return images.load(path)
    except ElfError as err:
        raise E.fail(span, E.BAD_ELF, f"failed to parse the {what} ELF '{path}': {err}") from None
