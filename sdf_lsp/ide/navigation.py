"""Go to definition, references, document highlight, rename and document links.

Results are plain tuples of offsets (or file paths); the server turns them into
protocol types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sdf_lsp.analysis import Analysis
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.hover import symbol_pd
from sdf_lsp.ide.locate import locate
from sdf_lsp.resolve.names import KIND_WORDS, NAME_KINDS, occurrences
from sdf_lsp.schema import element as schema_element
from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import Attribute

_VALID_NAME = re.compile(r"[^\s<>&\"']+")


@dataclass
class Target:
    """Where a definition is: a range in this document, or a file (line 0-based)."""

    start: int = 0
    end: int = 0
    path: str | None = None
    line: int = 0


class RenameError(Exception):
    """A rename that must be refused, with the reason shown to the user."""


def name_at(analysis: Analysis, offset: int) -> tuple[str, str, Attribute] | None:
    """(kind, name, attribute) of the name defined or referred to at the offset."""
    loc = locate(analysis.doc, offset)
    if loc.kind != "attr-value" or loc.attr is None:
        return None
    kind = analysis.names.kind_of(loc.attr)
    if kind is None:
        return None
    return kind, loc.attr.value, loc.attr


def definition(analysis: Analysis, offset: int, env: Environment | None = None) -> list[Target]:
    loc = locate(analysis.doc, offset)
    el, a = loc.element, loc.attr
    if el is None:
        return []
    if el.local == "end" and (loc.kind == "tag" or (a is not None and a.local == "id")):
        peer = peer_end(analysis, el)
        if peer is not None:
            span = peer.attr("id").value_span if peer.attr("id") else peer.name_span
            return [Target(span.start, span.end)]
    if loc.kind != "attr-value" or a is None:
        return []
    found = name_at(analysis, offset)
    if found is not None:
        kind, name, _ = found
        return [Target(d.value_span.start, d.value_span.end) for d in analysis.names.definitions.get((kind, name), [])]
    spec = schema_element(el.local)
    aspec = spec.attr(a.local) if spec else None
    if aspec is None or env is None:
        return []
    if aspec.type == "path":
        full = env.find(a.value)
        return [Target(path=full)] if full else []
    if aspec.type == "symbol":
        pd = symbol_pd(analysis, el)
        if pd is None or not pd.program_image:
            return []
        img, _ = env.elf(pd.path_for_symbols or pd.program_image)
        if img is None:
            return []
        where = img.symbol_source_line(a.value)
        if where is None:
            return []
        path, line = where
        return [Target(path=path, line=max(0, line - 1))]
    return []


def peer_end(analysis: Analysis, end_el):
    obj = analysis.model_of(end_el)
    if not isinstance(obj, tuple):
        return None
    ch, end = obj
    if not ch.valid:
        return None
    other = ch.ends[1] if ch.ends[0] is end else ch.ends[0]
    return other.el


def references(analysis: Analysis, offset: int, include_declaration: bool = True) -> list[tuple[int, int]]:
    found = name_at(analysis, offset)
    if found is None:
        return []
    kind, name, _ = found
    idx = analysis.names
    attrs = idx.references.get((kind, name), [])
    if include_declaration:
        attrs = idx.definitions.get((kind, name), []) + attrs
    return [(a.value_span.start, a.value_span.end) for a in attrs]


def highlights(doc: Document, offset: int) -> list[tuple[int, int, bool]]:
    """(start, end, is_definition) of every occurrence of the name at the offset — from the
    syntax tree alone (each block keeps its names), so it answers at once while typing."""
    loc = locate(doc, offset)
    if loc.kind != "attr-value" or loc.attr is None:
        return []
    kind = NAME_KINDS.kind_of(loc.attr)
    if kind is None:
        return []
    return [
        (a.value_span.start, a.value_span.end, NAME_KINDS.is_definition(a))
        for a in occurrences(doc.root, kind, loc.attr.value)
    ]


def prepare_rename(analysis: Analysis, offset: int) -> tuple[int, int, str] | None:
    found = name_at(analysis, offset)
    if found is None:
        return None
    kind, name, attr = found
    if kind not in ("pd", "mr", "domain", "untyped", "cnode", "vm", "ios"):
        return None
    span = attr.value_span
    return span.start, span.end, name


def rename(analysis: Analysis, offset: int, new_name: str) -> list[tuple[int, int, str]]:
    """Edits (start, end, text) renaming the name at the offset; RenameError if refused."""
    found = name_at(analysis, offset)
    if found is None:
        raise RenameError("there is no protection domain, memory region or domain name here")
    kind, name, _ = found
    if new_name == name:
        return []
    if not _VALID_NAME.fullmatch(new_name):
        raise RenameError(f"'{new_name}' is not a valid name (no spaces, quotes, '<', '>' or '&')")
    idx = analysis.names
    if (kind, new_name) in idx.definitions:
        raise RenameError(f"the {KIND_WORDS[kind]} name '{new_name}' is already taken")
    if kind == "pd" and new_name == "monitor":
        raise RenameError("the PD name 'monitor' is reserved for the Microkit Monitor")
    return [(a.value_span.start, a.value_span.end, new_name) for a in idx.occurrences(kind, name)]


def document_links(analysis: Analysis, env: Environment | None) -> list[tuple[int, int, str]]:
    """(start, end, file path) for every program image and prefill file that exists."""
    if env is None or analysis.doc.root is None:
        return []
    out = []
    stack = [analysis.doc.root]
    while stack:
        el = stack.pop()
        if el.local in ("program_image", "memory_region"):
            for name in ("path", "path_for_symbols", "prefill_path"):
                a = el.attr(name)
                if a is not None and a.value:
                    full = env.find(a.value)
                    if full:
                        out.append((a.value_span.start, a.value_span.end, full))
        if el.local in ("system", "protection_domain"):
            stack.extend(c for c in el.children if c.kind == "element")
    out.sort()
    return out
