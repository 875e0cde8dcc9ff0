"""Quick fixes for diagnostics that carry a `data["fix"]` recipe."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sdf_lsp.analysis import Analysis
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.ide.completion import channel_ids, child_ids
from sdf_lsp.layout.cspace import lowest_free_id
from sdf_lsp.model import values
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.syntax.tree import Element


@dataclass
class Fix:
    title: str
    edits: list[tuple[int, int, str]]  # (start, end, new text)
    diagnostic: Diagnostic | None  # None for a refactoring
    preferred: bool = False


def quick_fixes(analysis: Analysis, start: int, end: int) -> list[Fix]:
    out: list[Fix] = []
    for d in analysis.diagnostics:
        if d.data is None or d.span.end < start or d.span.start > end:
            continue
        try:
            out.extend(_fixes_for(analysis, d))
        except (KeyError, ValueError, AttributeError, TypeError):
            continue  # a recipe that no longer fits the text: offer nothing
    return out


def _element_at(analysis: Analysis, d: Diagnostic):
    from sdf_lsp.ide.locate import element_at

    return element_at(analysis.doc, d.span.start + 1 if d.span.end > d.span.start else d.span.start)


def _insert_attr_edit(el, name: str, value: str) -> tuple[int, int, str]:
    """Insert `name="value"` after the last attribute (or the tag name)."""
    if el.attrs:
        at = el.block.start + el.attrs[-1].e
    else:
        at = el.name_span.end
    return (at, at, f' {name}="{value}"')


def _fixes_for(analysis: Analysis, d: Diagnostic) -> list[Fix]:
    fix = d.data.get("fix")
    text = analysis.text
    value = text[d.span.start : d.span.end]
    s = analysis.system
    if fix == "nearest-name":
        kind = d.data["kind"]
        names = d.data.get("candidates") or analysis.names.names(kind)
        close = difflib.get_close_matches(value, names, n=3, cutoff=0.4) or sorted(names)[:1]
        return [Fix(f"Change to '{n}'", [(d.span.start, d.span.end, n)], d, i == 0) for i, n in enumerate(close)]
    if fix == "rename":
        # a duplicate name: the first free `<name>_<n>` (the name's kind is that of the attribute)
        el = _element_at(analysis, d)
        a = el.attr("name") if el is not None else None
        kind = analysis.names.kind_of(a) if a is not None else None
        if kind is None:
            return []
        taken = set(analysis.names.names(kind))
        n = 2
        while f"{value}_{n}" in taken:
            n += 1
        new = f"{value}_{n}"
        return [Fix(f"Rename to '{new}'", [(d.span.start, d.span.end, new)], d, True)]
    if fix == "add-pd":
        root = analysis.doc.root
        if root is None:
            return []
        indent = "    "
        pd = f'{indent}<protection_domain name="main" priority="100">\n{indent * 2}<program_image path="main.elf" />\n{indent}</protection_domain>\n'
        if root.self_closing:
            te = root.block.start + root.tag_end
            return [Fix("Add a protection domain", [(te - 2, te, f">\n{pd}</{root.name}>")], d, True)]
        end_tag = root.end_tag_span
        if end_tag is None:
            return []
        at = end_tag.start  # before `</system>`
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].strip():
            return [Fix("Add a protection domain", [(at, at, "\n" + pd)], d, True)]
        return [Fix("Add a protection domain", [(line_start, line_start, pd)], d, True)]
    if fix == "round-up":
        to = d.data["to"]
        v = values.sdf_number(value)
        up = -(-v // to) * to
        return [Fix(f"Round up to {up:#x}", [(d.span.start, d.span.end, hex(up))], d, True)]
    if fix == "power-of-two":
        return [
            Fix(f"Round to {v}", [(d.span.start, d.span.end, v)], d, i == 0) for i, v in enumerate(d.data["values"])
        ]
    if fix == "enum":
        return [
            Fix(f"Change to '{v}'", [(d.span.start, d.span.end, v)], d, i == 0) for i, v in enumerate(d.data["values"])
        ]
    if fix == "next-free-id":
        pd = s.pd_by_name.get(d.data["pd"]) if s else None
        if not isinstance(pd, ProtectionDomain):
            return []
        space = d.data["space"]
        used = channel_ids(analysis, pd) if space == "channel" else child_ids(analysis, pd)
        nxt = lowest_free_id(used)
        return (
            [Fix(f"Use the next free id {nxt}", [(d.span.start, d.span.end, str(nxt))], d, True)]
            if nxt is not None
            else []
        )
    if fix == "add-attribute":
        el = _element_at(analysis, d)
        if el is None:
            return []
        attr = d.data["attr"]
        return [Fix(f'Add {attr}=""', [_insert_attr_edit(el, attr, "")], d, True)]
    if fix == "remove-attribute":
        el = _element_at(analysis, d)
        a = el.attr(d.data["attr"].rpartition(":")[2]) if el is not None else None
        if a is None:
            return []
        s0 = a.block.start + a.s
        while s0 > 0 and text[s0 - 1] in " \t":
            s0 -= 1
        return [Fix(f"Remove attribute '{a.name}'", [(s0, a.block.start + a.e, "")], d)]
    if fix == "add-program-image":
        el = _element_at(analysis, d)
        if el is None:
            return []
        name = d.data.get("pd") or "program"
        indent = _indent_of(text, el.start)
        if el.self_closing:
            te = el.block.start + el.tag_end
            cut = te - 2
            while text[cut - 1] in " \t\r\n":  # `name="p" />` becomes `name="p">`
                cut -= 1
            new = f'>\n{indent}    <program_image path="{name}.elf" />\n{indent}</{el.name}>'
            return [Fix("Add a <program_image>", [(cut, te, new)], d, True)]
        te = el.block.start + el.tag_end
        return [Fix("Add a <program_image>", [(te, te, f'\n{indent}    <program_image path="{name}.elf" />')], d, True)]
    if fix == "free-slot":
        el = _element_at(analysis, d)
        pd = analysis.model_of(el.parent.parent) if el is not None and el.parent is not None else None
        lay = analysis.layout.cspace(pd) if analysis.layout and isinstance(pd, ProtectionDomain) else None
        if lay is None or lay.first_free is None:
            return []
        slot = str(lay.first_free)
        a = el.attr("slot")
        if a is None:
            return [Fix(f"Use the next free slot {slot}", [_insert_attr_edit(el, "slot", slot)], d, True)]
        return [Fix(f"Use the next free slot {slot}", [(a.value_span.start, a.value_span.end, slot)], d, True)]
    if fix == "raise-size-bits":
        el = _element_at(analysis, d)
        cs = el
        while cs is not None and cs.local != "cspace":
            cs = cs.parent
        if cs is None:
            return []
        bits = str(d.data["min_bits"])
        a = cs.attr("size_bits")
        edit = (
            (a.value_span.start, a.value_span.end, bits) if a is not None else _insert_attr_edit(cs, "size_bits", bits)
        )
        return [Fix(f"Raise the root CNode to size_bits={bits}", [edit], d, True)]
    if fix == "rename-attribute":
        el = _element_at(analysis, d)
        a = el.attr(d.data["from"]) if el is not None else None
        if a is None:
            return []
        return [Fix(f"Use {d.data['to']}", [(a.name_span.start, a.name_span.end, d.data["to"])], d, True)]
    if fix == "receive-all-untypeds":
        return _receive_all_untypeds(analysis, d)
    return []


def _indent_of(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    i = line_start
    while i < offset and text[i] in " \t":
        i += 1
    return text[line_start:i]


def _receive_all_untypeds(analysis: Analysis, d: Diagnostic) -> list[Fix]:
    """`receive_all_untypeds="true"` -> a `<cnode post_capdl_untypeds>` granted to the PDs mapping the region."""
    el = _element_at(analysis, d)
    mr = analysis.model_of(el) if el is not None else None
    if mr is None or el.local != "memory_region":
        return []
    a = el.attr("receive_all_untypeds")
    text = analysis.text
    s0 = a.block.start + a.s
    while s0 > 0 and text[s0 - 1] in " \t":
        s0 -= 1
    edits = [
        (
            s0,
            a.block.start + a.e,
            ' prefill_bootinfo="post_capdl_untypeds"' if el.attr("prefill_bootinfo") is None else "",
        )
    ]
    indent = _indent_of(text, el.start)
    cnode = f'{indent}<cnode name="untypeds" size_bits="9" post_capdl_untypeds="true" />\n'
    line_start = text.rfind("\n", 0, el.start) + 1
    edits.append((line_start, line_start, cnode))
    for pd, _ in analysis.system.uses(mr):
        if not isinstance(pd, ProtectionDomain):
            continue
        pdi = _indent_of(text, pd.el.start) + "    "
        cap = f'<cap_cnode slot="{(analysis.layout.cspace(pd).first_free or 1)}" cnode_name="untypeds" />'
        if pd.cspace is None:
            te = pd.el.block.start + pd.el.tag_end
            edits.append((te, te, f"\n{pdi}<cspace>{cap}</cspace>"))
        else:
            te = pd.cspace.el.block.start + pd.cspace.el.tag_end
            edits.append((te, te, cap))
        break
    edits.sort(key=lambda e: e[0])
    return [Fix("Convert to <cnode post_capdl_untypeds>", edits, d, True)]


def unnest_child(analysis: Analysis, offset: int) -> Fix | None:
    """Refactoring: make the child PD at `offset` a top-level PD whose faults still go to its
    parent (`fault_handler` + `fault_id`), and give the parent a `cap_tcb` for it, so the
    parent keeps the authority it had (a migration path away from the PD hierarchy)."""
    from sdf_lsp.ide.locate import element_at

    el = element_at(analysis.doc, offset)
    while el is not None and el.local != "protection_domain":
        el = el.parent
    child = analysis.model_of(el) if el is not None else None
    if not isinstance(child, ProtectionDomain) or child.parent is None or child.id is None or not analysis.ctx.extended:
        return None
    parent = child.parent
    top = parent
    while top.parent is not None:
        top = top.parent
    text = analysis.text
    lay = analysis.layout.cspace(parent) if analysis.layout else None
    if lay is None or lay.first_free is None:
        return None
    # the child's text, whole lines where it stands alone on them
    start, end = el.start, el.end
    line_start = text.rfind("\n", 0, start) + 1
    cut_start = line_start if not text[line_start:start].strip() else start
    nl = text.find("\n", end)
    cut_end = nl + 1 if nl >= 0 and not text[end:nl].strip() else end
    old_indent = _indent_of(text, start)
    new_indent = _indent_of(text, top.el.start)
    body = text[start:end]
    lines = body.split("\n")
    lines = [lines[0]] + [ln[len(old_indent) :] if ln.startswith(old_indent) else ln.lstrip() for ln in lines[1:]]
    body = "\n".join(lines[:1] + [new_indent + ln if ln else ln for ln in lines[1:]])
    # attributes: drop id/setvar_id, add the fault handler
    tag_end = el.block.start + el.tag_end - start
    head = body[:tag_end]
    for name in ("setvar_id", "id"):
        a = el.attr(name)
        if a is not None:
            s0 = a.block.start + a.s - start
            e0 = a.block.start + a.e - start
            while s0 > 0 and head[s0 - 1] in " \t":
                s0 -= 1
            head = head[:s0] + head[e0:]
    close = len(head) - (2 if head.endswith("/>") else 1)
    head = head[:close].rstrip() + f' fault_handler="{parent.name}" fault_id="{child.id}"' + head[close:]
    moved = head + body[tag_end:]
    insert_at = top.el.end
    edits = [(cut_start, cut_end, ""), (insert_at, insert_at, "\n\n" + new_indent + moved)]
    cap = f'<cap_tcb slot="{lay.first_free}" pd="{child.name}" />'
    pindent = _indent_of(text, parent.el.start) + "    "
    if parent.cspace is not None:
        te = parent.cspace.el.block.start + parent.cspace.el.tag_end
        edits.append((te, te, f"\n{pindent}    {cap}"))
    else:
        te = parent.el.block.start + parent.el.tag_end
        edits.append((te, te, f"\n{pindent}<cspace>\n{pindent}    {cap}\n{pindent}</cspace>"))
    edits.sort(key=lambda e: (e[0], e[1]))
    return Fix(f"Un-nest '{child.name}': a top-level PD with fault_handler=\"{parent.name}\"", edits, None)


# ------------------------------------------------------------------ suppression comments


def silence(analysis: Analysis, offset: int, code: str, whole_file: bool = False) -> Fix | None:
    """Insert `<!-- sdf-lsp: ignore CODE -->` before the element holding `offset` (or add the code
    to the ignore comment already there); with `whole_file`, an `ignore-file` comment before the
    root element. None when there is no element to put it on."""
    from sdf_lsp import suppress
    from sdf_lsp.ide.locate import element_at

    doc, text = analysis.doc, analysis.text
    if whole_file:
        for s in suppress.suppressions(doc, analysis.lines):
            if s.whole_file and s.codes:
                at = s.codes[-1].end
                return Fix(f"Silence {code} in this file", [(at, at, f",{code}")], None)
        el = doc.root
        title = f"Silence {code} in this file"
        directive = f"ignore-file {code}"
    else:
        el = element_at(doc, offset + 1 if offset < len(text) else offset)
        if el is not None and not (el.start <= offset < el.end):
            el = el.parent if isinstance(el.parent, Element) else None
        title = f"Silence {code} here"
        directive = f"ignore {code}"
    if el is None:
        return None
    if not whole_file:
        existing = _ignore_before(analysis, el)
        if existing is not None:
            return Fix(title, [(existing, existing, f",{code}")], None)
    line_start = text.rfind("\n", 0, el.start) + 1
    indent = text[line_start : el.start]
    if not indent.strip():
        return Fix(title, [(line_start, line_start, f"{indent}<!-- sdf-lsp: {directive} -->\n")], None)
    return Fix(title, [(el.start, el.start, f"<!-- sdf-lsp: {directive} --> ")], None)


def _ignore_before(analysis: Analysis, el: Element) -> int | None:
    """Where to add a code to the `sdf-lsp: ignore` comment that applies to `el`, if one does."""
    from sdf_lsp import suppress

    for s in suppress.suppressions(analysis.doc, analysis.lines):
        if not s.whole_file and s.codes and s.region == (el.start, el.end):
            return s.codes[-1].end
    return None
