"""Completion: elements valid at the cursor (with snippets of their required attributes),
attributes not yet present, and values — names, enumerations, the next free id or slot,
ELF symbols and files on the search paths."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from sdf_lsp import schema
from sdf_lsp.analysis import Analysis
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.hover import attribute_doc, element_doc, symbol_pd
from sdf_lsp.ide.locate import locate
from sdf_lsp.layout.cspace import channel_id_users, child_id_users, lowest_free_id
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.model.values import human_size

# snippet bodies for elements whose useful form has children
_CHILD_SNIPPETS = {
    "protection_domain": '<protection_domain name="${1:name}" priority="${2:100}">\n\t<program_image path="${3:${1:name}.elf}" />\n\t$0\n</protection_domain>',
    "channel": '<channel>\n\t<end pd="${1}" id="${2:0}" />\n\t<end pd="${3}" id="${4:0}" />\n</channel>',
    "virtual_machine": '<virtual_machine name="${1:guest}">\n\t<vcpu id="${2:0}" />\n\t$0\n</virtual_machine>',
    "cspace": "<cspace>\n\t$0\n</cspace>",
    "domains": '<domains>\n\t<domain name="${1:domain0}" />\n\t<domain_schedule>\n\t\t<schedule_entry domain="${1:domain0}" duration="${2:1000} us" />\n\t</domain_schedule>\n</domains>',
    "domain_schedule": '<domain_schedule>\n\t<schedule_entry domain="$1" duration="${2:1000} us" />\n</domain_schedule>',
    "io_address_space": '<io_address_space name="$1" peripheral_id="${2:0:3.0}" domain_id="${3:1}">\n\t$0\n</io_address_space>',
}


def _arch_ok(item, arch: str, dialect: str = schema.EXTENDED) -> bool:
    arches = schema.arches_of(item, dialect) if isinstance(item, schema.Attr) else item.arches
    return not arches or arch in arches


def element_snippet(e: schema.Elem, parent: str, arch: str, dialect: str) -> str:
    if e.name in _CHILD_SNIPPETS:
        return _CHILD_SNIPPETS[e.name]
    attrs = [
        a
        for a in e.attrs
        if schema.is_required(a, dialect)
        and (not a.parents or parent in a.parents)
        and _arch_ok(a, arch, dialect)
        and schema.accepts(a, dialect)
    ]
    if e.name == "irq" and arch != "x86_64":
        attrs = [e.attr("irq")] + attrs
    body = " ".join(f'{a.name}="${{{i + 1}}}"' for i, a in enumerate(attrs))
    return f"<{e.name}{' ' + body if body else ''} />"


def completion(
    analysis: Analysis, offset: int, env: Environment | None = None, encoding: str = "utf-16", snippets: bool = True
) -> list[lsp.CompletionItem]:
    items = _completion(analysis, offset, env, encoding)
    if not snippets:
        for item in items:
            if item.insert_text_format == lsp.InsertTextFormat.Snippet:
                item.insert_text_format = lsp.InsertTextFormat.PlainText
                item.text_edit.new_text = plain_text(item.text_edit.new_text)
    return items


_PLACEHOLDER = re.compile(r"\$\{\d+:((?:[^{}]|\{[^{}]*\})*)\}|\$\{\d+\}|\$\d+")


def plain_text(snippet: str) -> str:
    """A snippet without its tab stops (for clients without snippet support)."""
    prev = None
    while prev != snippet:
        prev = snippet
        snippet = _PLACEHOLDER.sub(lambda m: m.group(1) or "", snippet)
    return snippet


def _completion(analysis: Analysis, offset: int, env: Environment | None, encoding: str) -> list[lsp.CompletionItem]:
    doc = analysis.doc
    text = doc.text
    loc = locate(doc, offset)
    ctx = analysis.ctx
    arch, dialect = ctx.target.arch, ctx.dialect
    el = loc.element

    def rng(s: int, e: int) -> lsp.Range:
        return lsp.Range(start=_pos(analysis, s, encoding), end=_pos(analysis, e, encoding))

    if loc.kind == "attr-value":
        return value_items(analysis, el, loc.attr, offset, env, rng)
    if loc.kind == "tag":
        # typing an element name after '<'
        parent = el.parent.local if el.parent is not None else None
        span = el.name_span
        return element_items(parent, arch, dialect, rng(span.start - 1, span.end), with_lt=True)
    if loc.kind in ("in-tag", "attr-name"):
        present = {a.local for a in el.attrs if a is not loc.attr}
        edit_range = (
            rng(loc.attr.name_span.start, loc.attr.name_span.end) if loc.attr is not None else rng(offset, offset)
        )
        return attribute_items(el, present, arch, dialect, edit_range)
    if loc.kind == "content":
        # after a bare '<' (kept as text by the scanner) or in free space inside an element
        start = offset
        if offset > 0 and text[offset - 1] == "<":
            start = offset - 1
        return element_items(el.local, arch, dialect, rng(start, offset), with_lt=True)
    if loc.kind == "none" and doc.root is None:
        return [_snippet_item("system", "<system>\n\t$0\n</system>", rng(offset, offset), "root element")]
    return []


def _pos(analysis: Analysis, offset: int, encoding: str) -> lsp.Position:
    line, ch = analysis.lines.position(offset, encoding)
    return lsp.Position(line=line, character=ch)


def _snippet_item(
    label: str, snippet: str, rng, detail: str = "", doc: str | None = None, kind=lsp.CompletionItemKind.Snippet
):
    return lsp.CompletionItem(
        label=label,
        kind=kind,
        detail=detail or None,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None,
        insert_text_format=lsp.InsertTextFormat.Snippet,
        text_edit=lsp.TextEdit(range=rng, new_text=snippet),
        filter_text=f"<{label}" if snippet.startswith("<") else label,
    )


def element_items(parent: str | None, arch: str, dialect: str, rng, with_lt: bool) -> list[lsp.CompletionItem]:
    if parent is None:
        return []
    pe = schema.element(parent)
    if pe is None:
        return []
    out = []
    for name in schema.children_of(parent, dialect):
        e = schema.element(name)
        if not _arch_ok(e, arch):
            continue
        if name == "protection_domain" and parent == "protection_domain":
            snippet = '<protection_domain name="${1:child}" id="${2:0}">\n\t<program_image path="${3:${1:child}.elf}" />\n</protection_domain>'
        else:
            snippet = element_snippet(e, parent, arch, dialect)
        out.append(
            _snippet_item(
                name,
                snippet,
                rng,
                "sdf-lsp extension" if e.dialect == schema.EXTENDED else "",
                element_doc(name, dialect) or e.doc,
                lsp.CompletionItemKind.Class,
            )
        )
    return out


def attribute_items(el, present: set[str], arch: str, dialect: str, rng) -> list[lsp.CompletionItem]:
    e = schema.element(el.local)
    if e is None:
        return []
    parent = el.parent.local if el.parent is not None else None
    variant = None
    if el.local == "irq":
        variant = "arm" if arch != "x86_64" else ("msi" if "pcidev" in present else "ioapic")
    out = []
    for a in e.attrs:
        if a.name in present:
            continue
        if not schema.accepts(a, dialect):
            continue
        if a.parents and parent not in a.parents:
            continue
        if not _arch_ok(a, arch, dialect) or (variant and a.variants and variant not in a.variants):
            continue
        out.append(
            lsp.CompletionItem(
                label=a.name,
                kind=lsp.CompletionItemKind.Property,
                detail=("required" if a.required else (f"default {a.default_text}" if a.default_text else None)),
                documentation=lsp.MarkupContent(
                    kind=lsp.MarkupKind.Markdown, value=attribute_doc(el, a.name, dialect) or a.doc
                ),
                tags=[lsp.CompletionItemTag.Deprecated] if a.deprecated else None,
                insert_text_format=lsp.InsertTextFormat.Snippet,
                text_edit=lsp.TextEdit(range=rng, new_text=f'{a.name}="$1"'),
                sort_text=("0" if a.required else "1") + a.name,
            )
        )
    return out


def value_items(analysis: Analysis, el, attr, offset: int, env, rng) -> list[lsp.CompletionItem]:
    e = schema.element(el.local)
    spec = e.attr(attr.local) if e else None
    target = analysis.ctx.target
    vs = attr.value_span
    r = rng(vs.start, vs.end)

    def items(values, kind=lsp.CompletionItemKind.Value, detail=None, docs=None):
        out = []
        for i, v in enumerate(values):
            out.append(
                lsp.CompletionItem(
                    label=v,
                    kind=kind,
                    detail=detail,
                    text_edit=lsp.TextEdit(range=r, new_text=v),
                    sort_text=f"{i:05d}",
                    documentation=docs.get(v) if docs else None,
                )
            )
        return out

    if spec is None:
        return []
    t = spec.type
    if t.startswith("ref:"):
        kind = t[4:]
        names = analysis.names.names(kind)
        if kind == "pd" and el.local == "protection_domain" and attr.local == "fault_handler":
            names = [n for n in names if n != el.get("name")]
        out = items(sorted(names), lsp.CompletionItemKind.Reference, f"{kind} name")
        for item in out:
            detail, doc = name_details(analysis, kind, item.label)
            item.detail = detail or item.detail
            if doc:
                item.documentation = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc)
        return out
    if t == "bool":
        return items(["true", "false"], lsp.CompletionItemKind.EnumMember)
    if attr.local == "page_size":
        return items([hex(p) for p in target.page_sizes], lsp.CompletionItemKind.EnumMember, "page size")
    if attr.local == "prefill_bootinfo":
        vals = list(schema.BOOTINFO_TYPES) + (["post_capdl_untypeds"] if analysis.ctx.extended else [])
        return items(vals, lsp.CompletionItemKind.EnumMember)
    if t == "enum" or t in ("perms", "ioperms", "rights"):
        return items(list(spec.values), lsp.CompletionItemKind.EnumMember)
    if t == "duration":
        return items(["1000 us", "100 ticks"])
    if t == "symbol":
        return symbol_items(analysis, el, env, items)
    if t == "path" and env is not None:
        prefix = attr.value[: max(0, offset - vs.start)]
        suffixes = (".elf",) if el.local == "program_image" else ()
        return items(env.list_files(prefix, suffixes), lsp.CompletionItemKind.File)
    nxt = next_free(analysis, el, attr.local)
    if nxt is not None:
        return items([str(nxt)], lsp.CompletionItemKind.Value, "next free")
    if el.local == "untyped" and attr.local in ("size", "size_bits"):
        bits = range(12, 31)
        if attr.local == "size":
            return items([hex(1 << b) for b in bits], detail="power of two")
        return items([str(b) for b in bits], detail="log2 bytes")
    if el.local in ("cspace", "cnode") and attr.local == "size_bits":
        return items([str(b) for b in range(6, 13)], detail="log2 slots")
    return []


def name_details(analysis: Analysis, kind: str, name: str) -> tuple[str | None, str | None]:
    """(detail, Markdown documentation) of a name offered for a reference: a region's size and
    physical address, a PD's priority and channels, a domain's id, an untyped's or CNode's size."""
    s = analysis.system
    if s is None:
        return None, None
    if kind == "mr":
        found = s.region_named(name)
        if found is None:
            return None, None
        mr, facts = found
        size = f"{facts.size:#x} ({human_size(facts.size)})" if facts.size is not None else "size unknown"
        where = f"at {mr.phys_addr:#x}" if mr.phys_addr is not None else "anywhere in RAM"
        users = sorted({owner.name for owner, _ in s.uses(mr) if getattr(owner, "name", None)})
        doc = [
            f"**memory region** `{name}`",
            f"size {size}, page size {facts.page_size:#x}, physical address "
            + (f"`{mr.phys_addr:#x}`" if mr.phys_addr is not None else "chosen by the build"),
            ("mapped by " + ", ".join(f"`{u}`" for u in users)) if users else "not mapped yet",
        ]
        return f"{size} {where}", "\n\n".join(doc)
    if kind == "pd":
        pd = s.pd_by_name.get(name)
        if pd is None:
            return None, None
        ends = s.channel_ends.get(name, [])
        peers = [f"`{other.pd}` (id {own.id})" for own, other in ends if other.pd]
        detail = f"priority {pd.priority}" + (", passive" if pd.passive else "")
        detail += f", {len(ends)} channel{'' if len(ends) == 1 else 's'}"
        doc = [
            f"**protection domain** `{name}`",
            f"priority {pd.priority}, budget {pd.budget} us, period {pd.period} us"
            + (", passive" if pd.passive else ""),
            ("channels: " + ", ".join(peers)) if peers else "no channels",
        ]
        return detail, "\n\n".join(doc)
    if kind == "domain":
        d = s.domain_by_name.get(name)
        if d is None:
            return None, None
        did = d.id if d.id is not None else d.assigned
        return (f"domain id {did}" if did is not None else None), None
    if kind == "untyped":
        u = s.untyped_by_name.get(name)
        if u is None or u.size_bits is None:
            return None, None
        where = f" at {u.phys_addr:#x}" if u.phys_addr is not None else ""
        return f"{human_size(1 << u.size_bits)} untyped{where}", None
    if kind == "cnode":
        c = s.cnode_by_name.get(name)
        if c is None or c.size_bits is None:
            return None, None
        return f"{1 << c.size_bits} slots", None
    return None, None


def symbol_items(analysis: Analysis, el, env, items) -> list[lsp.CompletionItem]:
    pd = symbol_pd(analysis, el)
    if pd is None or env is None or not pd.program_image:
        return []
    img, _ = env.elf(pd.path_for_symbols or pd.program_image)
    if img is None:
        return []
    words = sorted({s.name for s in img.list_symbols() if s.size == 8 and s.name})
    return items(words, lsp.CompletionItemKind.Variable, f"word in {pd.program_image}")


def next_free(analysis: Analysis, el, attr: str) -> int | None:
    """The lowest free id or slot for the attribute being typed."""
    s = analysis.system
    if s is None:
        return None
    tag = el.local
    if attr == "id" and tag in ("end", "irq"):
        pd = s.pd_by_name.get(el.get("pd")) if tag == "end" else analysis.model_of(el.parent)
        if not isinstance(pd, ProtectionDomain):
            return None
        return lowest_free_id(channel_ids(analysis, pd, exclude=el))
    if attr == "id" and tag == "ioport":
        pd = analysis.model_of(el.parent)
        return (
            lowest_free_id({io.id for io in pd.ioports if io.el is not el})
            if isinstance(pd, ProtectionDomain)
            else None
        )
    if (attr == "id" and tag in ("protection_domain", "vcpu")) or attr == "fault_id":
        owner_el = el.parent.parent if tag == "vcpu" else el.parent
        pd = analysis.model_of(owner_el) if attr == "id" else s.pd_by_name.get(el.get("fault_handler"))
        if not isinstance(pd, ProtectionDomain):
            return None
        return lowest_free_id(child_ids(analysis, pd, exclude=el))
    if attr == "slot" and el.parent is not None and el.parent.local == "cspace":
        pd = analysis.model_of(el.parent.parent)
        lay = analysis.layout.cspace(pd) if analysis.layout and isinstance(pd, ProtectionDomain) else None
        if lay is None:
            return None
        own = analysis.model_of(el)
        if own is not None and getattr(own, "slot", None) is not None:
            return own.slot
        return lay.first_free
    return None


def channel_ids(analysis: Analysis, pd: ProtectionDomain, exclude=None) -> set[int]:
    """Ids of `pd`'s channel space in use (IRQs and channel ends), but the one being typed."""
    assert analysis.system is not None
    return {i for i, obj in channel_id_users(analysis.system, pd) if obj.el is not exclude}


def child_ids(analysis: Analysis, pd: ProtectionDomain, exclude=None) -> set[int]:
    """Ids of `pd`'s child space in use (children, vCPUs, fault ids), but the one being typed."""
    assert analysis.system is not None
    return {i for i, obj in child_id_users(analysis.system, pd) if obj.el is not exclude}
