"""`<domains>`: the scheduling domains and the domain schedule (upstream `parse_domains`,
`parse_domain_schedule`)."""

from __future__ import annotations

from sdf_lsp.diagnostics import Related, shorten
from sdf_lsp.model import values
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import Domain, Domains, ScheduleEntry, span_of
from sdf_lsp.syntax.tree import Element

DURATION_UNITS = ("us", "ticks")


def lower_domains(lw: Lowering, el: Element) -> Domains:
    t = lw.target
    lw.check_attrs(el)
    doms = Domains(el)
    if t.num_cores != 1:
        lw.report(el.name_span, "MK-D2", "The domain scheduler is not supported in multicore builds of seL4")
    by_name: dict[str, Domain] = {}
    by_id: dict[int, Domain] = {}
    schedules = []
    for child in el.children:
        if not isinstance(child, Element):
            continue
        if child.local == "domain":
            _domain(lw, child, doms, by_name, by_id)
        elif child.local == "domain_schedule":
            schedules.append(child)
            if len(schedules) > 1:
                lw.value_error(child, "The <domain_schedule> element can only appear once", "MK-D6", child.name_span)
        else:
            lw.report(child.name_span, "MK-D7", f"invalid XML element as child of <domains> '{shorten(child.local)}'")
    if not schedules:
        lw.value_error(el, "The <domain_schedule> element must appear once", "MK-D8", el.name_span)
    _assign_ids(lw, el, doms, set(by_id))
    if schedules:
        _schedule(lw, schedules[0], doms, by_name)
    return doms


def _domain(lw: Lowering, el: Element, doms: Domains, by_name: dict[str, Domain], by_id: dict[int, Domain]):
    t = lw.target
    lw.check_attrs(el)
    name = lw.required(el, "name")
    did = None
    if el.has("id"):
        did = lw.number(el, "id")
        if did is not None and did >= t.num_domains:
            lw.value_error(
                el,
                f"domain id {did} should be less than the configured KernelNumDomains value of {t.num_domains}",
                "MK-D3",
                span_of(el, "id"),
            )
            did = None
    d = Domain(el, name, did)
    if name is not None and name in by_name:
        prev = by_name[name]
        prev_s = f"Some({prev.id})" if prev.id is not None else "None"
        lw.value_error(
            el,
            f"Each <domain>'s name element must be unique found existing domain '{shorten(name)}' with id '{prev_s}'",
            "MK-D4",
            span_of(el, "name"),
            related=(Related(span_of(prev.el, "name"), "first declared here"),),
        )
        return
    if did is not None and did in by_id:
        other = by_id[did]
        lw.value_error(
            el,
            f"Each <domain>'s id element must be unique found existing domain '{shorten(str(other.name))}' with id '{did}'",
            "MK-D5",
            span_of(el, "id"),
            related=(Related(span_of(other.el, "id"), "first used here"),),
        )
        return
    if name is not None:
        by_name[name] = d
    if did is not None:
        by_id[did] = d
    doms.domains.append(d)


def _assign_ids(lw: Lowering, el: Element, doms: Domains, used: set[int]):
    """Ids for domains without one: the smallest unused id, in document order (upstream: HashMap order)."""
    t = lw.target
    next_id = 0
    for d in doms.domains:
        if d.id is not None:
            d.assigned = d.id
            continue
        while next_id in used:
            next_id += 1
        if next_id > t.num_domains:
            lw.value_error(el, f"Number of domains exceeds {t.num_domains}", "MK-D9", d.el.name_span)
            break
        if next_id == t.num_domains:
            lw.report(
                d.el.name_span,
                "SDF007",
                f"domain '{shorten(str(d.name))}' would get id {next_id}, but ids must be less than KernelNumDomains ({t.num_domains}); "
                "Microkit 2.3 accepts this and the kernel rejects it",
            )
        d.assigned = next_id
        used.add(next_id)


def _schedule(lw: Lowering, el: Element, doms: Domains, by_name: dict[str, Domain]):
    t = lw.target
    lw.check_attrs(el)
    doms.schedule_el = el
    start = lw.number(el, "start_index")
    shift = lw.number(el, "index_shift")
    doms.start_index = start if start is not None else lw.default(el, "start_index")
    doms.index_shift = shift
    for child in el.children:
        if not isinstance(child, Element):
            continue
        if child.local == "schedule_entry":
            doms.schedule.append(_entry(lw, child, by_name))
        elif child.local == "schedule_end_marker":
            lw.check_attrs(child)
            doms.schedule.append(ScheduleEntry(child, None, end_marker=True))
        else:
            lw.report(
                child.name_span,
                "MK-D17",
                f"invalid XML element as child of <domain_schedule> '{shorten(child.local)}'",
            )
    n = len(doms.schedule)
    if n >= t.num_domain_schedules:
        lw.report(
            el.name_span,
            "MK-D18",
            f"More than configured KernelNumDomainSchedules {t.num_domain_schedules} number of <schedule_entry> elements found",
        )
    if start is not None and start >= n:
        lw.value_error(
            el,
            f"schedule_start_index '{start}' is greater than the length of the schedule '{n}'",
            "MK-D19",
            span_of(el, "start_index"),
        )
    if shift is not None and shift + n >= t.num_domain_schedules:
        lw.value_error(
            el,
            f"schedule_index_shift '{doms.start_index}' on top of the schedule length '{n}' would exceed than the configured "
            f"KernelNumDomainSchedules {t.num_domain_schedules}",
            "MK-D20",
            span_of(el, "index_shift"),
        )


def _entry(lw: Lowering, el: Element, by_name: dict[str, Domain]) -> ScheduleEntry:
    lw.check_attrs(el)
    dname = lw.required(el, "domain")
    duration = lw.required(el, "duration")
    entry = ScheduleEntry(el, dname)
    if dname is not None and dname not in by_name:
        lw.value_error(el, f"domain '{shorten(dname)}' does not exist,", "MK-D12", span_of(el, "domain"))
    if duration is None:
        return entry
    span = span_of(el, "duration")
    if " " not in duration:
        lw.value_error(
            el,
            f"The duration '{shorten(duration)}' must contain a value and a unit, e.g. '1000 us'",
            "MK-D13",
            span,
        )
        return entry
    num_s, unit = duration.split(" ", 1)
    try:
        v = values.sdf_number(num_s)
    except values.SdfValueError as err:
        lw.report(span, "MK-NUM", f"failed to parse integer '{shorten(num_s)}' on element 'schedule_entry': {err}")
        v = None
    if v == 0:
        lw.value_error(el, f"The duration '{shorten(duration)}' must be non-zero", "MK-D14", span)
    if unit not in DURATION_UNITS:
        lw.value_error(el, f"The duration '{shorten(duration)}' must be in either 'ticks' or 'us'", "MK-D15", span)
    else:
        entry.duration, entry.unit = v, unit
    return entry
