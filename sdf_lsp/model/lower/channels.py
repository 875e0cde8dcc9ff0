"""`<channel>` and its two `<end>`s (upstream `Channel::from_xml`)."""

from __future__ import annotations

from sdf_lsp.diagnostics import Related, shorten
from sdf_lsp.model.consts import PD_MAX_ID
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import Channel, ChannelEnd, span_of
from sdf_lsp.syntax.tree import Element


def lower_channel(lw: Lowering, el: Element) -> Channel:
    lw.check_attrs(el)
    ends = []
    for child in el.children:
        if not isinstance(child, Element):
            continue
        if child.local != "end":
            lw.report(child.name_span, "MK-H2", f"invalid XML element '{shorten(child.local)}'")
            continue
        ends.append(_end(lw, child))
    if len(ends) != 2:
        lw.value_error(el, "exactly two end elements must be specified", "MK-H6", el.name_span)
    elif ends[0].pp and ends[1].pp:
        lw.value_error(
            el,
            "cannot ppc bidirectionally",
            "MK-H7",
            span_of(ends[1].el, "pp"),
            related=(Related(span_of(ends[0].el, "pp"), 'the other end also has pp="true"'),),
        )
    return Channel(el, ends)


def _end(lw: Lowering, el: Element) -> ChannelEnd:
    lw.check_attrs(el)
    pd = lw.required(el, "pd")
    end_id = None
    if not el.has("id"):
        lw.missing(el, "id")
    else:
        end_id = lw.decimal(el, "id")
        if end_id is not None and end_id > PD_MAX_ID:
            lw.value_error(el, f"id must be < {PD_MAX_ID + 1}", "MK-H3", span_of(el, "id"))
            end_id = None
        elif end_id is not None and end_id < 0:
            lw.value_error(el, "id must be >= 0", "MK-H3", span_of(el, "id"))
            end_id = None
    # Microkit 1.4's ends have neither (its PDs carry `pp`), 2.0's no `setvar_id`
    notify = lw.boolean(el, "notify", "MK-H4") if lw.accepts(el, "notify") else True
    pp = lw.boolean(el, "pp", "MK-H4") if lw.accepts(el, "pp") else False
    setvar_id = el.get("setvar_id") if lw.accepts(el, "setvar_id") else None
    return ChannelEnd(el, pd, end_id, notify, pp, setvar_id)
