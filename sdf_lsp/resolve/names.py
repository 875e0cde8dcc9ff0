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


#: What kind of name an attribute holds (the same for every document).
NAME_KINDS = NameIndex()

#: Where a name stands: an element and the index of the attribute among its attributes (the
#: `Attribute`, with its ranges, is made only for the names a request asks for).
Place = tuple[Element, int]
Names = tuple[dict[tuple[str, str], list[Place]], dict[tuple[str, str], list[Place]]]


def element_names(el: Element) -> Names:
    """(definitions, references) of the names in an element and everything in it, in document order."""
    defs: dict[tuple[str, str], list[Place]] = {}
    refs: dict[tuple[str, str], list[Place]] = {}
    stack = [el]
    while stack:
        el = stack.pop()
        tag = el.local
        declares = DECLARES.get(tag)
        pairs = el.raw if not el.prefixed else [(a.local, a.value) for a in el.attrs]
        for i, (local, value) in enumerate(pairs):
            if declares is not None and local == "name":
                defs.setdefault((declares, value), []).append((el, i))
                continue
            kind = REFS.get((tag, local))
            if kind is not None:
                refs.setdefault((kind, value), []).append((el, i))
        for c in el.children:
            if isinstance(c, Element):
                stack.append(c)
    for lst in defs.values():
        lst.sort(key=_place_order)
    for lst in refs.values():
        lst.sort(key=_place_order)
    return defs, refs


def _place_order(place: Place) -> int:
    return place[0].s


def _attributes(places: list[Place]) -> list[Attribute]:
    return [el.attrs[i] for el, i in places]


def item_names(item: Element) -> Names:
    """The names of a child of `<system>`, kept on its syntax block while the block lives."""
    block = item.block
    if block.item is not item:
        return element_names(item)
    if block.features is None:
        block.features = {}
    names = block.features.get("names")
    if names is None:
        names = block.features["names"] = element_names(item)
    return names


def occurrences(root: Element | None, kind: str, name: str) -> list[Attribute]:
    """Definitions, then references, of one name (without building the whole index; each block's
    names are kept with it, so this is a dictionary look-up per child of `<system>`)."""
    if root is None:
        return []
    key = (kind, name)
    defs: list[Attribute] = []
    refs: list[Attribute] = []
    for c in root.children:
        if c.__class__ is not Element:
            continue
        block = c.block
        feats = block.features
        names = feats.get("names") if feats is not None and block.item is c else None
        if names is None:
            names = item_names(c)
        d, r = names
        if key in d:
            defs.extend(_attributes(d[key]))
        if key in r:
            refs.extend(_attributes(r[key]))
    return defs + refs


def build_index(root: Element | None) -> NameIndex:
    idx = NameIndex()
    if root is None:
        return idx
    defs, refs = idx.definitions, idx.references
    own_defs, own_refs = element_names(_alone(root))
    parts = [(own_defs, own_refs)] + [item_names(c) for c in root.children if isinstance(c, Element)]
    for d, r in parts:
        for key, lst in d.items():
            have = defs.get(key)
            if have is None:
                defs[key] = _attributes(lst)
            else:
                have.extend(_attributes(lst))
        for key, lst in r.items():
            have = refs.get(key)
            if have is None:
                refs[key] = _attributes(lst)
            else:
                have.extend(_attributes(lst))
    return idx


def _alone(root: Element) -> Element:
    """The root element without its children (its own attributes only)."""
    bare = Element(root.block, root.s, root.name)
    bare.raw, bare._attrs, bare.a_s, bare.a_e, bare.prefixed = root.raw, root._attrs, root.a_s, root.a_e, root.prefixed
    return bare
