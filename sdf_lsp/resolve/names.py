"""Definitions and references of every name in a document, driven by the schema table:
an attribute of type `name` on a declaring element defines a name, one of type
`ref:<kind>` refers to one. Built once per analysis, on first use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp import schema
from sdf_lsp.syntax.tree import Attribute, Element

# declaring element -> kind of the name its `name` attribute defines
DECLARES = {
    "protection_domain": "pd",
    "memory_region": "mr",
    "domain": "domain",
    "untyped": "untyped",
    "cnode": "cnode",
    "virtual_machine": "vm",
    "io_address_space": "ios",
}

KIND_WORDS = {
    "pd": "protection domain",
    "mr": "memory region",
    "domain": "domain",
    "untyped": "untyped",
    "cnode": "CNode",
    "vm": "virtual machine",
    "ios": "I/O address space",
}


def _ref_attrs() -> dict[tuple[str, str], str]:
    out = {}
    for e in schema.ELEMENTS:
        for a in e.attrs:
            if a.type.startswith("ref:"):
                out[(e.name, a.name)] = a.type[4:]
    return out


REFS = _ref_attrs()


@dataclass
class NameIndex:
    definitions: dict[tuple[str, str], list[Attribute]] = field(default_factory=dict)
    references: dict[tuple[str, str], list[Attribute]] = field(default_factory=dict)

    def kind_of(self, attr: Attribute) -> str | None:
        """The name kind an attribute defines or refers to (None: not a name)."""
        el = attr.element
        if attr.local == "name" and el.local in DECLARES:
            return DECLARES[el.local]
        return REFS.get((el.local, attr.local))

    def is_definition(self, attr: Attribute) -> bool:
        return attr.local == "name" and attr.element.local in DECLARES

    def names(self, kind: str) -> list[str]:
        return [n for (k, n) in self.definitions if k == kind]

    def occurrences(self, kind: str, name: str) -> list[Attribute]:
        return self.definitions.get((kind, name), []) + self.references.get((kind, name), [])


def build_index(root: Element | None) -> NameIndex:
    idx = NameIndex()
    if root is None:
        return idx
    stack = [root]
    defs, refs = idx.definitions, idx.references
    while stack:
        el = stack.pop()
        tag = el.local
        declares = DECLARES.get(tag)
        for a in el.attrs:
            if declares is not None and a.local == "name":
                defs.setdefault((declares, a.value), []).append(a)
                continue
            kind = REFS.get((tag, a.local))
            if kind is not None:
                refs.setdefault((kind, a.value), []).append(a)
        for c in el.children:
            if isinstance(c, Element):
                stack.append(c)
    for lst in defs.values():
        lst.sort(key=lambda a: a.element.start)
    for lst in refs.values():
        lst.sort(key=lambda a: a.element.start)
    return idx
