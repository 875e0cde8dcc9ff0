"""Checks that read the program images the SDF names (outside the I/O-free core).

A missing program image is information (upstream's parser never looks for it; the build
needs it), and only when some other program image of the system *is* found: then the search
paths are set up for this system and the missing one is misspelt or not built yet. When none
is found (nothing built yet, or no search path set), nothing is said: every `program_image`
would be marked, and the build says it anyway. A setvar symbol missing from a found image is a
warning (the build fails on it).
"""

from __future__ import annotations

from sdf_lsp.analysis import Analysis
from sdf_lsp.diagnostics import INFORMATION, WARNING, Diagnostic
from sdf_lsp.elf import ElfError
from sdf_lsp.ide.env import Environment
from sdf_lsp.model.types import span_of

CLI_SEARCH_HINT = "add its folder with --search-path"
EDITOR_SEARCH_HINT = "add its folder to the sdf.searchPaths setting"


def program_diagnostics(analysis: Analysis, env: Environment, search_hint: str = CLI_SEARCH_HINT) -> list[Diagnostic]:
    """`search_hint` says how this user adds a search path (a CLI flag, an editor setting)."""
    s = analysis.system
    if s is None:
        return []
    out: list[Diagnostic] = []
    images = {}
    named = [pd for pd in s.pds if pd.program_image and pd.program_image_el is not None]
    any_found = any(env.find(pd.program_image) is not None for pd in named)
    for pd in named:
        el = pd.program_image_el
        img, problem = env.elf(pd.program_image)
        if img is None:
            if env.find(pd.program_image) is None:
                if any_found:
                    out.append(
                        Diagnostic(
                            span_of(el, "path"),
                            INFORMATION,
                            "SDF016",
                            f"program image '{pd.program_image}' is not on the search paths "
                            f"({', '.join(env.search_paths) or 'none'}); a build needs it: {search_hint}",
                        )
                    )
            else:
                out.append(
                    Diagnostic(span_of(el, "path"), WARNING, "SDF016", problem or f"cannot read '{pd.program_image}'")
                )
            continue
        if pd.path_for_symbols:
            sym_img, problem = env.elf(pd.path_for_symbols)
            if sym_img is None:
                out.append(
                    Diagnostic(
                        span_of(el, "path_for_symbols"),
                        INFORMATION,
                        "SDF016",
                        f"'{pd.path_for_symbols}' is not on the search paths; {search_hint}"
                        if problem is None or "not on the search paths" in problem
                        else problem,
                    )
                )
                continue
            img = sym_img
        images[id(pd)] = img
        for sym, (_kind, sym_el, sym_attr) in pd.symbols.items():
            span = span_of(sym_el, sym_attr)
            try:
                _, size = img.find_symbol(sym)
            except ElfError as err:
                out.append(Diagnostic(span, WARNING, "SDF016", f"{err} in '{pd.path_for_symbols or pd.program_image}'"))
                continue
            if size != 8:
                out.append(
                    Diagnostic(
                        span,
                        WARNING,
                        "SDF016",
                        f"setvar to non-word size symbol '{sym}' for PD '{pd.name}', symbol has size '{size}' bytes, "
                        "expected size '8' bytes",
                    )
                )
    if analysis.ctx.extended:
        for pd in s.pds:
            h = s.pd_by_name.get(pd.fault_handler) if pd.fault_handler else None
            img = images.get(id(h)) if h is not None else None
            if img is not None and not img.has_symbol("fault"):
                out.append(
                    Diagnostic(
                        span_of(pd.el, "fault_handler"),
                        INFORMATION,
                        "FH007",
                        f"the program of fault handler '{h.name}' ({h.program_image}) has no `fault` symbol",
                    )
                )
    return out
