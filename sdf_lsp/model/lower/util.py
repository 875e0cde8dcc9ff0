"""What every part of the lowering shares: the `Context`, and `Lowering`, which collects the
diagnostics of one top-level element and reads attribute values with upstream's grammars and
messages (upstream `sdf.rs`: `value_error`, `checked_lookup`, `check_attributes`,
`sdf_parse_number`).

Defaults and attribute allow-lists come from the schema table (`sdf_lsp.schema`), and every
user-supplied value a message quotes goes through `shorten`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp import schema
from sdf_lsp.diagnostics import ERROR, Diagnostic, Related, shorten
from sdf_lsp.model import values
from sdf_lsp.model.types import span_of
from sdf_lsp.syntax.tree import Element, Span
from sdf_lsp.target import Target

EXT_SUFFIX = " (an sdf-lsp extension)"
#: The code of an element or attribute that another Microkit release accepts but the dialect's does not.
OTHER_RELEASE = "REL001"

# `default=` of the value readers: the attribute's default in the schema table
TABLE = object()


@dataclass(frozen=True)
class Context:
    target: Target
    dialect: str = schema.EXTENDED
    authority_hints: bool = True
    # lowered leaf elements by their text (tag and attributes), for lowerings that depend on nothing
    # else: a re-scanned element with the same text gets a copy instead of being lowered again
    cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def extended(self) -> bool:
        return self.dialect == schema.EXTENDED

    @property
    def release(self) -> schema.Release:
        """The Microkit release whose parser rules and messages apply (`extended`: the newest)."""
        return schema.release_of(self.dialect)

    @property
    def release_text(self) -> str:
        return schema.release_text(self.release)


def _is_namespace_declaration(name: str) -> bool:
    return name == "xmlns" or name.startswith("xmlns:")


class Lowering:
    """Collects diagnostics while lowering; one instance per top-level element."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.target = ctx.target
        self.arch = ctx.target.arch
        self.release = ctx.release
        self.diags: list[Diagnostic] = []

    # -- reporting -------------------------------------------------------------------
    def report(self, span: Span, code: str, message: str, severity: int = ERROR, related=(), data=None, tags=()):
        self.diags.append(Diagnostic(span, severity, code, message, related, tags, data))

    def value_error(
        self,
        el: Element,
        msg: str,
        code: str,
        span: Span | None = None,
        related=(),
        data=None,
        on: Element | None = None,
    ):
        """upstream `value_error`: `{msg} on element '{tag}'` (tag of `on`, default `el`)."""
        tag = (on or el).local
        self.report(span or el.name_span, code, f"{msg} on element '{tag}'", related=related, data=data)

    def missing(self, el: Element, attr: str, code: str = "MK-MISSING"):
        self.report(
            el.name_span,
            code,
            f"Missing required attribute '{attr}' on element '{el.local}'",
            data={"fix": "add-attribute", "attr": attr},
        )

    def ext_element(self, el: Element, upstream_msg: str, code: str = "EX001"):
        """An extension element used in a microkit dialect."""
        self.report(el.name_span, code, upstream_msg + EXT_SUFFIX)

    def accepts(self, el: Element, attr: str) -> bool:
        """Whether the dialect's release accepts the attribute on this element at all."""
        return schema.accepts(schema.BY_NAME[el.local].attr_map[attr], self.ctx.dialect)

    def other_release_element(self, el: Element, upstream_msg: str) -> bool:
        """An element this release rejects with `upstream_msg` but another release accepts
        (REL001, saying which releases); False when no release accepts it."""
        e = schema.element(el.local)
        if e is None or e.dialect == schema.EXTENDED or schema.accepts(e, self.ctx.dialect):
            return False
        self.report(el.name_span, OTHER_RELEASE, f"{upstream_msg} ({schema.releases_note(e)})")
        return True

    # -- address-space bounds per release ---------------------------------------------
    def _legacy_user_top(self) -> int | None:
        """Microkit 2.2 and earlier fix the top of a user address space per architecture
        (`Config::user_top`); 2.3 takes it from the kernel (`vspace_user_top`)."""
        t = self.target
        if t.arch == "aarch64":
            if not t.hypervisor:
                return 0x800000000000
            return {40: 0x10000000000, 44: 0x100000000000}.get(t.arm_pa_size_bits or 0)
        return {"riscv64": 0x3FFFFFF000, "x86_64": 0x7FFFFFFFF000}.get(t.arch)

    def pd_map_max_vaddr(self, stack_size: int) -> int | None:
        """Exclusive bound of a PD's `vaddr` (None: the release checks none, as 1.4)."""
        if self.release < (2, 0):
            return None
        top = self._legacy_user_top() if self.release < (2, 3) else None
        return top - stack_size if top is not None else self.target.pd_stack_bottom(stack_size)

    def vm_map_max_vaddr(self) -> int | None:
        if self.release < (2, 0):
            return None
        top = self._legacy_user_top() if self.release < (2, 3) else None
        return top if top is not None else self.target.vm_map_max_vaddr()

    # -- attributes --------------------------------------------------------------------
    def check_attrs(self, el: Element, parent: str | None = None, variant: str | None = None):
        """ATTR: every attribute the schema table does not allow on the element where it
        appears (`parent`: the parent's tag, by default the element's only parent in the
        table); upstream reports the first only. Extension attributes in the microkit-2.3
        dialect are EX001."""
        elem = el.local
        if parent is None:
            parents = schema.BY_NAME[elem].parents
            parent = parents[0] if parents else None
        allowed = schema.attr_names(elem, self.ctx.dialect, self.arch, parent, variant)
        for name, _ in el.raw:
            if name in allowed or _is_namespace_declaration(name):
                continue
            if ":" in name and name.rpartition(":")[2] in allowed:
                continue
            self._invalid_attr(el, name, parent, variant)

    def _other_release(self, el: Element, attr: str, parent: str | None, variant: str | None) -> str | None:
        """Which other releases accept the attribute in this very place (`Microkit 2.3 and
        later`), or None when none does."""
        e = schema.BY_NAME.get(el.local)
        a = e.attr(attr) if e else None
        if a is None or a.dialect == schema.EXTENDED:
            return None
        there = [
            r for d, r in schema.RELEASES.items() if attr in schema.attr_names(el.local, d, self.arch, parent, variant)
        ]
        return schema.releases_text(min(there), max(there)) if there else None

    def _invalid_attr(self, el: Element, name: str, parent: str | None, variant: str | None = None):
        a = next(a for a in el.attrs if a.name == name)
        entry = schema.BY_NAME[el.local].attr(a.local)
        if entry is not None and entry.misplaced_code is not None and parent not in entry.parents:
            if self.ctx.extended or entry.dialect == schema.UPSTREAM:
                return  # allowed under another parent: the element's lowering reports it
        msg = f"invalid attribute '{shorten(a.local)}' on element '{el.local}'"
        other = self._other_release(el, a.local, parent, variant)
        if not self.ctx.extended and schema.is_extension_attr(el.local, a.local):
            self.report(a.name_span, "EX001", msg + EXT_SUFFIX, tags=())
        elif other is not None:
            self.report(
                a.name_span,
                OTHER_RELEASE,
                f"{msg} ({other})",
                data={"fix": "remove-attribute", "attr": a.name},
            )
        else:
            self.report(a.name_span, "MK-ATTR", msg, data={"fix": "remove-attribute", "attr": a.name})

    def required(self, el: Element, attr: str) -> str | None:
        v = el.get(attr)
        if v is None:
            self.missing(el, attr)
        return v

    def default(self, el: Element, attr: str):
        """The schema table's default of an attribute of this element (None: it gives none)."""
        return schema.BY_NAME[el.local].attr_map[attr].default

    def number(self, el: Element, attr: str, default=TABLE, on: Element | None = None):
        """An SDF number (`sdf_parse_number`): NUM error text on failure (None). An absent
        attribute is `default`, by default the table's (None when it gives none)."""
        v = el.get(attr)
        if v is None:
            return self._table_default(el, attr) if default is TABLE else default
        try:
            return values.sdf_number(v)
        except values.SdfValueError as err:
            tag = (on or el).local
            self.report(
                span_of(el, attr), "MK-NUM", f"failed to parse integer '{shorten(v)}' on element '{tag}': {err}"
            )
            return None

    def decimal(self, el: Element, attr: str, signed: bool = True, default=TABLE):
        """A decimal-only attribute that upstream parses with `unwrap()` (a crash on anything else)."""
        v = el.get(attr)
        if v is None:
            return self._table_default(el, attr) if default is TABLE else default
        try:
            return values.rust_int(v, signed=signed)
        except values.SdfValueError:
            hint = ""
            if v.replace("_", "").startswith("0x") or "_" in v:
                hint = " (hex and '_' are not accepted here)"
            kind = "a decimal integer" if signed else "a non-negative decimal integer"
            self.report(
                span_of(el, attr),
                "SDF001",
                f"'{attr}' on element '{el.local}' must be {kind}, got '{shorten(v)}'{hint}; "
                f"the Microkit {self.ctx.release_text} tool crashes on this value",
            )
            return None

    def boolean(self, el: Element, attr: str, code: str, fallback: bool | None = None, msg: str | None = None) -> bool:
        """`true` or `false`. Absent or invalid, the table's default, or `fallback` for an
        attribute the table gives no default."""
        default = fallback if fallback is not None else self.default(el, attr)
        raw = el.get(attr)
        if raw is None:
            return default
        v = values.parse_bool(raw)
        if v is None:
            self.value_error(
                el,
                msg or f"{attr} must be 'true' or 'false'",
                code,
                span_of(el, attr),
                data={"fix": "enum", "values": ["true", "false"]},
            )
            return default
        return v

    def enum(self, el: Element, attr: str, msg: str, code: str) -> str:
        """One of the table's values for the attribute; absent or invalid, the table's default."""
        a = schema.BY_NAME[el.local].attr_map[attr]
        default = a.default
        v = el.get(attr)
        if v is None:
            return default
        allowed = a.values
        if v not in allowed:
            self.value_error(el, msg, code, span_of(el, attr), data={"fix": "enum", "values": list(allowed)})
            return default
        return v

    def symbol(
        self,
        pd_symbols: dict,
        el: Element,
        attr: str,
        code: str = "MK-SETVAR",
        on: Element | None = None,
        kind: str = "",
    ):
        """Register a setvar symbol of a PD; a duplicate is upstream's `setvar on symbol ... already exists`."""
        sym = el.get(attr)
        if sym is None:
            return None
        if sym in pd_symbols:
            _, first_el, first_attr = pd_symbols[sym]
            self.value_error(
                el,
                f"setvar on symbol '{shorten(sym)}' already exists",
                code,
                span_of(el, attr),
                related=(Related(span_of(first_el, first_attr), "first set here"),),
                on=on,
            )
        else:
            pd_symbols[sym] = (kind or attr, el, attr)
        return sym

    def _table_default(self, el: Element, attr: str):
        d = schema.BY_NAME[el.local].attr_map[attr].default
        if isinstance(d, schema.SameAs):
            raise TypeError(f"{el.local}.{attr} defaults to another attribute: pass it")
        return d
