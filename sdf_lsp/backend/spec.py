"""The capDL spec under construction, in the JSON form of the Microkit tool's `capdl.json`.

Objects and caps are plain dicts shaped exactly as serde writes rust-sel4's
`Spec<Fill<ElfContent>>`, so the same value is written out as `capdl.json` and
handed to `sdf_lsp.image` for packing.  Caps refer to objects by index; the
indices are those of creation order until `Spec.finish` sorts the objects as
upstream does and renumbers every reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from json.encoder import encode_basestring_ascii

from sdf_lsp.image import rkyv
from sdf_lsp.target import Target

#: seL4_SlotBits: a CNode of 2^b slots takes 2^(b + 5) bytes.
SLOT_BITS = 5
#: Microkit gives every scheduling context 2^8 bytes (`PD_SCHEDCONTEXT_EXTRA_SIZE`).
SCHED_CONTEXT_BITS = 8


def rights(read: bool, write: bool, grant: bool = False) -> dict:
    return {"read": read, "write": write, "grant": grant, "grant_reply": False}


# ----------------------------------------------------------------------------- caps


def cap(kind: str, obj: int) -> dict:
    """A cap that carries only its object (`Tcb`, `SchedContext`, `PageTable`, `Reply`, ...)."""
    return {kind: {"object": obj}}


def endpoint_cap(obj: int, badge: int, read: bool = True, write: bool = True, grant: bool = True) -> dict:
    return {"Endpoint": {"object": obj, "badge": badge, "rights": rights(read, write, grant)}}


def notification_cap(obj: int, badge: int, read: bool = True, write: bool = True) -> dict:
    return {"Notification": {"object": obj, "badge": badge, "rights": rights(read, write)}}


def cnode_cap(obj: int, guard_size: int, guard: int = 0) -> dict:
    return {"CNode": {"object": obj, "guard": guard, "guard_size": guard_size}}


def frame_cap(obj: int, read: bool, write: bool, execute: bool, cached: bool) -> dict:
    return {"Frame": {"object": obj, "rights": rights(read, write), "cached": cached, "executable": execute}}


def cap_object(c: dict) -> int:
    return next(iter(c.values()))["object"]


def cte(slot: int, c: dict) -> dict:
    """A cap table entry holding `c` (which may be in other entries too: `Spec.finish` renumbers it once)."""
    return {"slot": slot, "cap": c}


# -------------------------------------------------------------------------- objects


def frame(size_bits: int, paddr: int | None, entries: list | None = None) -> dict:
    return {"Frame": {"size_bits": size_bits, "paddr": paddr, "init": {"entries": entries or []}}}


def cnode(size_bits: int, slots: list | None = None) -> dict:
    return {"CNode": {"size_bits": size_bits, "slots": slots or []}}


def page_table(level: int, is_root: bool, x86_ept: bool = False) -> dict:
    return {"PageTable": {"x86_ept": x86_ept, "is_root": is_root, "level": level, "slots": []}}


def sched_context(period: int, budget: int, badge: int) -> dict:
    return {
        "SchedContext": {"size_bits": SCHED_CONTEXT_BITS, "extra": {"period": period, "budget": budget, "badge": badge}}
    }


def tcb(
    slots: list,
    *,
    ipc_buffer_addr: int,
    affinity: int,
    prio: int,
    fpu_disabled: bool,
    resume: bool,
    domain: int | None,
    ip: int,
    sp: int,
) -> dict:
    return {
        "Tcb": {
            "slots": slots,
            "extra": {
                "ipc_buffer_addr": ipc_buffer_addr,
                "affinity": affinity,
                "prio": prio,
                "max_prio": prio,
                "fpu_disabled": fpu_disabled,
                "resume": resume,
                "domain": domain,
                "ip": ip,
                "sp": sp,
                "gprs": [],
                "master_fault_ep": None,
            },
        }
    }


def object_kind(obj) -> str:
    """The variant name of an object (`"Endpoint"`, `"Frame"`, ...)."""
    return obj if isinstance(obj, str) else next(iter(obj))


def object_paddr(obj) -> int | None:
    if isinstance(obj, str):
        return None
    ((kind, body),) = obj.items()
    return body.get("paddr") if kind == "Frame" or kind == "Untyped" else None


#: Objects of one size per target, by variant: the name of their size in the target's table.
_SIZE_NAMES = {"Endpoint": "endpoint", "Notification": "notification", "Reply": "reply", "VCpu": "vcpu", "Tcb": "tcb"}


def physical_size_bits(obj, target: Target) -> int:
    """log2 of the bytes an object takes out of untyped memory (0: no memory), as upstream's
    `capdl_obj_physical_size_bits`."""
    body: dict = {}
    if isinstance(obj, str):
        kind = obj
    else:
        ((kind, body),) = obj.items()
    if kind in ("Frame", "SchedContext", "Untyped"):
        return body["size_bits"]
    if kind in _SIZE_NAMES:
        return target.object_bits(_SIZE_NAMES[kind])
    if kind == "CNode":
        return body["size_bits"] + SLOT_BITS
    if kind == "PageTable":
        return target.object_bits("vspace" if body["is_root"] else "page_table")
    return 0


def human_name(obj, target: Target) -> str:
    """The object type as the report names it."""
    kind = object_kind(obj)
    if kind == "Frame":
        size = obj["Frame"]["size_bits"]
        if size == target.object_bits("small_page"):
            return "Page(4 KiB)"
        if size == target.object_bits("large_page"):
            return "Page(2 MiB)"
        return f"Page(2^{size} bytes)"
    return {
        "Tcb": "TCB",
        "VCpu": "VCPU",
        "ArmIrq": "ARM IRQ",
        "IrqMsi": "x86 MSI IRQ",
        "IrqIOApic": "x86 IOAPIC IRQ",
        "RiscvIrq": "RISC-V IRQ",
        "IOPorts": "x86 I/O Ports",
        "ArmSmc": "ARM SMC",
        "Irq": "IRQ",
    }.get(kind, kind)


# ----------------------------------------------------------------------------- spec


def _slot_of(entry: dict) -> int:
    return entry["slot"]


@dataclass(frozen=True)
class Owner:
    """What an object is made for (a PD, a memory region, ...), to say who uses the memory."""

    label: str  # e.g. "PD 'client'"
    el: object = None  # its syntax element


@dataclass
class Spec:
    """A capDL spec being built: named objects (creation order), IRQs, domain schedule.

    `owner` is the `Owner` that objects added from now on are made for; `owners`
    keeps it per object.
    """

    objects: list[dict] = field(default_factory=list)  # {"name", "object"}
    irqs: list[dict] = field(default_factory=list)  # {"irq", "handler"}
    domain_schedule: list[dict] | None = None
    domain_set_start: int | None = None
    domain_idx_shift: int | None = None
    owner: Owner | None = None
    owners: list[Owner | None] = field(default_factory=list)

    def add(self, name: str, obj) -> int:
        """Add a root object; its index until `finish`."""
        self.objects.append({"name": name, "object": obj})
        self.owners.append(self.owner)
        return len(self.objects) - 1

    def body(self, obj_id: int) -> dict:
        """The variant payload of an object (e.g. the `Frame` dict)."""
        obj = self.objects[obj_id]["object"]
        return next(iter(obj.values()))

    def insert(self, obj_id: int, slot: int, c: dict) -> None:
        """Put a cap into the cap table of object `obj_id`."""
        self.body(obj_id)["slots"].append(cte(slot, c))

    def finish(self, target: Target) -> list[int]:
        """Sort as upstream (fixed `paddr` first by address, then by size descending, then
        by name), renumber every reference, sort IRQs and CNode slots.  Returns the new
        index of each old index."""
        keyed = []
        for old, named in enumerate(self.objects):
            obj = named["object"]
            frame = obj.get("Frame") if type(obj) is dict else None  # most objects: read directly
            if frame is not None:
                paddr, bits = frame["paddr"], frame["size_bits"]
            else:
                paddr, bits = object_paddr(obj), physical_size_bits(obj, target)
            if paddr is None:
                keyed.append((1, 0, -bits, named["name"], old))
            else:
                keyed.append((0, paddr, -bits, named["name"], old))
        keyed.sort()
        new_of_old = [0] * len(self.objects)
        for new, key in enumerate(keyed):
            new_of_old[key[4]] = new
        self.objects = [self.objects[key[4]] for key in keyed]
        self.owners = [self.owners[key[4]] for key in keyed]
        renumbered: set[int] = set()
        for named in self.objects:
            obj = named["object"]
            if isinstance(obj, str):
                continue
            ((kind, body),) = obj.items()
            slots = body.get("slots")
            if not slots:
                continue
            for entry in slots:
                for cap_body in entry["cap"].values():
                    if id(cap_body) not in renumbered:  # a cap in several tables is one dict
                        renumbered.add(id(cap_body))
                        cap_body["object"] = new_of_old[cap_body["object"]]
            if kind == "CNode":
                slots.sort(key=_slot_of)
        for irq in self.irqs:
            irq["handler"] = new_of_old[irq["handler"]]
        self.irqs.sort(key=lambda e: e["irq"])
        return new_of_old

    def to_json(self) -> dict:
        """The spec as `capdl.json` holds it (before packaging)."""
        return {
            "objects": self.objects,
            "irqs": self.irqs,
            "domain_schedule": self.domain_schedule,
            "domain_set_start": self.domain_set_start,
            "domain_idx_shift": self.domain_idx_shift,
            "asid_slots": [],
            "root_objects": {"start": 0, "end": len(self.objects)},
            "untyped_covers": [],
            "cached_orig_cap_slots": None,
            "log_level": None,
        }


def dump_json(spec_json) -> str:
    """`capdl.json` text: exactly `json.dumps(spec_json, indent=2)` (serde_json's pretty format, no
    final newline), written without the standard library's pure-Python indenting encoder, which
    takes seconds for a large system.

    A spec of the capDL types is written by an encoder compiled from their table: fields in the
    types' order, which is the order serde writes them in and the one the constructors above make
    them in; numbers and booleans as the types say.  Any other value (a field more or less, an
    unknown variant) is written by a generic encoder."""
    if type(spec_json) is dict:
        try:
            return _compiled_json()(spec_json)
        except _JSON_MISFIT:
            pass
    return _generic_json(spec_json)


def _generic_json(value) -> str:
    out: list[str] = []
    w = out.append
    newlines = ["\n" + "  " * depth for depth in range(64)]

    def scalar(v) -> str:
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if type(v) is int:
            return int.__repr__(v)
        if type(v) is str:
            return encode_basestring_ascii(v)
        return json.dumps(v)

    def emit(v, depth: int) -> None:
        inner = newlines[depth + 1]
        if type(v) is dict:
            if not v:
                w("{}")
                return
            sep = "{" + inner
            for key, x in v.items():
                w(sep + encode_basestring_ascii(key) + ": ")
                sep = "," + inner
                if type(x) is dict or type(x) is list:
                    emit(x, depth + 1)
                else:
                    w(scalar(x))
            w(newlines[depth] + "}")
        elif not v:
            w("[]")
        elif all(type(x) is int for x in v):
            w("[" + inner + ("," + inner).join(map(int.__repr__, v)) + newlines[depth] + "]")
        else:
            sep = "[" + inner
            for x in v:
                w(sep)
                sep = "," + inner
                if type(x) is dict or type(x) is list:
                    emit(x, depth + 1)
                else:
                    w(scalar(x))
            w(newlines[depth] + "]")

    if type(value) is dict or type(value) is list:
        emit(value, 0)
    else:
        w(scalar(value))
    return "".join(out)


# ------------------------------------------------------------------ compiled capdl.json encoder

#: The types of `capdl.json` (serde's form of rust-sel4's `Spec` as the tool fills it): those of the
#: initialiser's spec, except that a frame's `init` is its fill, whose data refers to an ELF segment
#: or carries bytes.
JSON_TYPES: dict[str, tuple[str, list[tuple[str, str | None]]]] = {
    **rkyv.TYPES,
    "object::Frame": ("struct", [("size_bits", "u8"), ("paddr", "Option<u64>"), ("init", "Fill")]),
    "Content": ("enum", [("ElfContent", "ElfContent"), ("BytesContent", "BytesContent")]),
    "ElfContent": ("struct", [("elf_id", "u64"), ("elf_seg_idx", "u64"), ("elf_seg_data_range", "Range<u64>")]),
}
_JSON_INTS = ("u8", "u16", "u32", "u64")


class _JsonMisfit(Exception):
    """A value is not of the type the compiled encoder expects (the generic encoder writes it)."""


_JSON_MISFIT = (_JsonMisfit, LookupError, TypeError, ValueError, AttributeError)


class _JsonCompiler:
    """Writes the source of the capdl.json encoder: one function `j_<type>_<depth>(v) -> str` per
    type and indentation depth it occurs at, returning the text of a value with one `%` format of
    a template holding everything fixed (keys, punctuation, indentation, nested structs).  An enum,
    or a struct with one enum field, has a template per variant, chosen through a dict."""

    def __init__(self) -> None:
        self.defs: list[str] = []
        self.done: set[str] = set()

    def inline(
        self, t: str, e: str, depth: int, body: list[str], checks: list[str], pick: dict[str, tuple[str, str | None]]
    ) -> tuple[str, list[str]]:
        """(template, argument expressions) of the text of `t` held by `e` at `depth`; statements the
        arguments need go to `body`, conditions under which `e` does not fit the type to `checks`.
        `pick` gives the variant of the enums held by some expressions (its data is `p`)."""
        if t in _JSON_INTS:
            return "%s", [e]
        if t == "bool":
            return "%s", [f"('true' if {e} else 'false')"]
        if t == "String":
            return "%s", [f"_string({e})"]
        g = rkyv.split_generic(t)
        if g and g[0] == "Box":
            return self.inline(g[1], e, depth, body, checks, pick)
        if g and g[0] == "Option" and g[1] in _JSON_INTS:
            return "%s", [f"('null' if {e} is None else str({e}))"]
        if g and g[0] == "Option" and g[1] == "String":
            return "%s", [f"('null' if {e} is None else _string({e}))"]
        if e in pick:
            vname, pt = pick[e]
            key = encode_basestring_ascii(vname)
            if pt is None:
                return _literal(key), []
            piece, args = self.inline(pt, "p", depth + 1, body, checks, pick)
            return "{" + _literal(_indent(depth + 1) + key + ": ") + piece + _indent(depth) + "}", args
        if g and g[0] == "Range" or not g and JSON_TYPES[t][0] == "struct":
            fields = [("start", g[1]), ("end", g[1])] if g else JSON_TYPES[t][1]
            if not e.isidentifier():
                name = f"_{len(body)}"
                body.append(f"{name} = {e}")
                e = name
            checks.append(f"len({e}) != {len(fields)}")  # with every field read, the same fields
            template, args = "{", []
            for i, (fname, ft) in enumerate(fields):
                piece, fargs = self.inline(ft or "", f"{e}[{fname!r}]", depth + 1, body, checks, pick)
                key = encode_basestring_ascii(fname)
                template += ("," if i else "") + _literal(_indent(depth + 1) + key + ": ") + piece
                args += fargs
            return template + _indent(depth) + "}", args
        if g and g[0] == "Vec":  # no call for an empty vector
            return "%s", [f"({self.function(t, depth)}({e}) if {e} else '[]')"]
        return "%s", [f"{self.function(t, depth)}({e})"]

    def define(
        self, name: str, params: str, t: str, depth: int, pick: dict[str, tuple[str, str | None]], optional=False
    ) -> None:
        """`def name(params)` returning the text of `t` held by `v` (or null for None if `optional`)."""
        body: list[str] = ["if v is None:\n        return 'null'"] if optional else []
        checks: list[str] = []
        template, args = self.inline(t, "v", depth, body, checks, pick)
        if checks:
            body.append(f"if {' or '.join(checks)}:\n        raise _JsonMisfit")
        if not args:
            expr = repr(template % ())
        elif template == "%s":
            expr = f"str({args[0]})" if t in _JSON_INTS else args[0]
        else:
            expr = f"{template!r} % ({', '.join(args)},)"
        lines = "".join(f"    {line}\n" for line in body)
        self.defs.append(f"def {name}({params}):\n{lines}    return {expr}\n")

    def function(self, t: str, depth: int) -> str:
        """The name of the function writing `t` at `depth`, defined on first use."""
        name = f"j_{rkyv.identifier(t)}_{depth}"
        if name in self.done:
            return name
        self.done.add(name)
        g = rkyv.split_generic(t)
        if g and g[0] == "Vec":
            items = "map(str, v)" if g[1] in _JSON_INTS else f"map({self.function(g[1], depth + 1)}, v)"
            self.defs.append(
                f"def {name}(v):\n"
                f"    if not v:\n"
                f"        return '[]'\n"
                f"    return {'[' + _indent(depth + 1)!r} + {',' + _indent(depth + 1)!r}.join({items})"
                f" + {_indent(depth) + ']'!r}\n"
            )
            return name
        if g and g[0] == "Option":
            self.define(name, "v", g[1], depth, {}, optional=True)
            return name
        if not g and JSON_TYPES[t][0] == "enum":
            self.dispatch(name, t, depth, "v", t)
            return name
        enums = [
            (f, ft) for f, ft in (JSON_TYPES[t][1] if not g else ()) if ft in JSON_TYPES and JSON_TYPES[ft][0] == "enum"
        ]
        if len(enums) == 1:
            self.dispatch(name, t, depth, f"v[{enums[0][0]!r}]", enums[0][1])
        else:
            self.define(name, "v", t, depth, {})
        return name

    def dispatch(self, name: str, t: str, depth: int, x: str, enum: str) -> None:
        """`name(v)`: the text of `t` held by `v`, by the variant of the `enum` held by `x`."""
        units: list[str] = []
        variants: list[str] = []
        for vname, pt in JSON_TYPES[enum][1]:
            if pt == rkyv.UNKNOWN:
                continue
            fn = f"{name}__{rkyv.identifier(vname)}"
            self.define(fn, "v, p", t, depth, {x: (vname, pt)})
            (units if pt is None else variants).append(f"{vname!r}: {fn}")
        self.defs.append(
            f"_units_{name} = {{{', '.join(units)}}}\n"
            f"_variants_{name} = {{{', '.join(variants)}}}\n"
            f"def {name}(v):\n"
            f"    x = {x}\n"
            f"    if type(x) is str:\n"
            f"        return _units_{name}[x](v, None)\n"
            f"    ((variant, p),) = x.items()\n"
            f"    return _variants_{name}[variant](v, p)\n"
        )

    def dump(self, t: str) -> None:
        """`dump(v)`: the text of the struct `t` held by `v`, joined once from pieces that hold its
        vectors' items one by one (a large spec's text is tens of megabytes: none is copied twice)."""
        fields = JSON_TYPES[t][1]
        lines = [f"if len(v) != {len(fields)}:", "    raise _JsonMisfit", "out = []"]
        text = "{"
        for i, (name, ft) in enumerate(fields):
            text += ("," if i else "") + _indent(1) + encode_basestring_ascii(name) + ": "
            lines.append(f"out.append({text!r})")
            text = ""
            g = rkyv.split_generic(ft or "")
            if g and g[0] == "Vec" and g[1] not in _JSON_INTS:
                lines.append(f"_items(out, v[{name!r}], {self.function(g[1], 2)}, 1)")
            else:
                lines.append(f"out.append({self.function(ft or '', 1)}(v[{name!r}]))")
        lines += [f"out.append({_indent(0) + '}'!r})", "return ''.join(out)"]
        self.defs.append("def dump(v):\n" + "".join(f"    {line}\n" for line in lines))


def _items(out: list[str], items: list, text_of, depth: int) -> None:
    """The text of the vector of `items` at `depth`, as pieces appended to `out`."""
    if not items:
        out.append("[]")
        return
    sep = "," + _indent(depth + 1)
    pieces = [sep] * (2 * len(items) - 1)
    pieces[::2] = list(map(text_of, items))
    out.append("[" + _indent(depth + 1))
    out += pieces
    out.append(_indent(depth) + "]")


def _indent(depth: int) -> str:
    return "\n" + "  " * depth


def _literal(text: str) -> str:
    return text.replace("%", "%%")


@cache
def json_source() -> str:
    """The source of the compiled capdl.json encoder; `dump(v)` writes a whole spec."""
    compiler = _JsonCompiler()
    compiler.dump(rkyv.ROOT_TYPE)
    return "\n".join(compiler.defs)


@cache
def _compiled_json():
    """The capdl.json encoder (its source comes from the type table alone, never from a value)."""
    namespace = {"_string": encode_basestring_ascii, "_JsonMisfit": _JsonMisfit, "_items": _items}
    exec(compile(json_source(), "<capdl.json encoder>", "exec"), namespace)
    return namespace["dump"]
