"""rkyv 0.8 archives of the capDL initialiser's spec (`SpecForInitializer`).

The capDL initialiser reads its spec as an rkyv archive that it validates with
bytecheck, so the bytes must be exactly what the Rust serialiser writes.  This
module reproduces rkyv 0.8 with the features Microkit enables (`alloc`,
`bytecheck`, `pointer_width_32`; little-endian and aligned by default) over a
fixed table of the spec's types.

Values are in serde's JSON form of the same types (as `spec.initializer.json`
shows them): structs are dicts, unit enum variants are strings, data-carrying
variants are one-key dicts, `Option` is `None` or the value, `Range` is
`{"start", "end"}`, byte vectors are lists of ints (or `bytes`).

Layout rules implemented here (rkyv 0.8):

* structs are `repr(C)`: fields in order, each at its alignment, size rounded
  up to the struct's alignment;
* enums (and `Option`) are `repr(u8)`: each variant is a `repr(C)` struct of a
  `u8` tag followed by the variant's payload; the enum is as large as the
  largest variant and as aligned as the most aligned one;
* `Vec<T>` is a 32-bit relative pointer followed by a 32-bit length; `Box<T>`
  is a 32-bit relative pointer; relative pointers count from the pointer field
  itself;
* `String` is 8 bytes: up to 8 bytes inline (padded with 0xff), otherwise a
  length word whose low byte carries the marker bits `10` and a 32-bit offset
  counted from the start of the string;
* out-of-line data is written depth first, before the value that points to it
  (all elements' dependencies of a vector, then the vector's elements); the
  root value is written last; padding is zero.

Two serialisers follow these rules: a reference one that walks the type table
for every value, and one compiled from the table into Python source once per
root type, which `serialize` uses (a hundred thousand caps take a fraction of
a second); the reference one explains a value the compiled one cannot take.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

#: rust-sel4 commit whose `sel4-capdl-initializer-types` the table below follows
#: (the commit Microkit pins).
RUST_SEL4_COMMIT = "dbe6445d"

#: Variant slots whose name and payload the pinned types have but that no
#: reference archive shows; serialising or decoding one is an error rather than
#: a guess (they are not used by aarch64 or RISC-V systems).
UNKNOWN = "?"

# The type table.  Named types are ("struct", [(field, type)]) or
# ("enum", [(variant, payload type or None for a unit variant)]); the position
# of a variant is its tag.  A variant listed as ("<unknown N>", UNKNOWN) holds
# the place of a variant that exists at that tag but whose name and layout are
# not pinned down here.  Primitive and generic types: u8, u16, u32, u64, bool,
# String, Vec<T>, Option<T>, Box<T>, Range<T>.  Newtypes (ObjectId, CapSlot:
# u32; Word: u64) are written as their inner type, as serde does.
#
# Confirmed byte for byte against archives the tool wrote: every struct below
# except the x86/RISC-V ones and Untyped/Irq/IOPorts; the tags of the Object
# variants Endpoint, Notification, CNode, Tcb, VCpu, Frame, PageTable, ArmIrq,
# SchedContext, Reply, ArmSmc; of the Cap variants Endpoint, Notification,
# CNode, Tcb, VCpu, Frame, PageTable, ArmIrqHandler, SchedContext, Reply,
# ArmSmc; of all DomainSchedDuration, FrameInit, FillEntryContent variants, of
# Content::DeflatedBytes and FillEntryContentBootInfoId::X86TscFreq.  The other
# tags follow the declaration order of the pinned types around those.
TYPES: dict[str, tuple[str, list[tuple[str, str | None]]]] = {
    "SpecForInitializer": (
        "struct",
        [
            ("objects", "Vec<NamedObject>"),
            ("irqs", "Vec<IrqEntry>"),
            ("domain_schedule", "Option<Vec<DomainSchedEntry>>"),
            ("domain_set_start", "Option<u64>"),
            ("domain_idx_shift", "Option<u64>"),
            ("asid_slots", "Vec<u32>"),
            ("root_objects", "Range<u32>"),
            ("untyped_covers", "Vec<UntypedCover>"),
            ("cached_orig_cap_slots", "Option<OrigCapSlots>"),
            ("log_level", "Option<u8>"),
        ],
    ),
    "IrqEntry": ("struct", [("irq", "u64"), ("handler", "u32")]),
    "DomainSchedEntry": ("struct", [("domain", "u8"), ("duration", "DomainSchedDuration")]),
    "DomainSchedDuration": ("enum", [("Ticks", "u64"), ("Us", "u64"), ("EndMarker", None)]),
    "UntypedCover": ("struct", [("parent", "u32"), ("children", "Range<u32>")]),
    "OrigCapSlots": ("struct", [("num_occupied", "u32"), ("offsets_by_object", "Vec<Option<u32>>")]),
    "NamedObject": ("struct", [("name", "Option<String>"), ("object", "Object")]),
    "Object": (
        "enum",
        [
            ("Untyped", "object::Untyped"),
            ("Endpoint", None),
            ("Notification", None),
            ("CNode", "object::CNode"),
            ("Tcb", "object::Tcb"),
            ("Irq", "object::Irq"),
            ("VCpu", None),
            ("Frame", "object::Frame"),
            ("PageTable", "object::PageTable"),
            ("<unknown 9>", UNKNOWN),
            ("<unknown 10>", UNKNOWN),
            ("<unknown 11>", UNKNOWN),
            ("ArmIrq", "object::ArmIrq"),
            ("IrqMsi", "object::IrqMsi"),
            ("IrqIOApic", "object::IrqIOApic"),
            ("RiscvIrq", "object::RiscvIrq"),
            ("IOPorts", "object::IOPorts"),
            ("SchedContext", "object::SchedContext"),
            ("Reply", None),
            ("ArmSmc", None),
        ],
    ),
    "Cap": (
        "enum",
        [
            ("Untyped", "cap::Object"),
            ("Endpoint", "cap::Badged"),
            ("Notification", "cap::Badged"),
            ("CNode", "cap::CNode"),
            ("Tcb", "cap::Object"),
            ("IrqHandler", "cap::Object"),
            ("VCpu", "cap::Object"),
            ("Frame", "cap::Frame"),
            ("PageTable", "cap::Object"),
            ("<unknown 9>", UNKNOWN),
            ("<unknown 10>", UNKNOWN),
            ("<unknown 11>", UNKNOWN),
            ("ArmIrqHandler", "cap::Object"),
            ("IrqMsiHandler", "cap::Object"),
            ("IrqIOApicHandler", "cap::Object"),
            ("RiscvIrqHandler", "cap::Object"),
            ("IOPorts", "cap::Object"),
            ("SchedContext", "cap::Object"),
            ("Reply", "cap::Object"),
            ("ArmSmc", "cap::Object"),
        ],
    ),
    "CapTableEntry": ("struct", [("slot", "u32"), ("cap", "Cap")]),
    "Rights": ("struct", [("read", "bool"), ("write", "bool"), ("grant", "bool"), ("grant_reply", "bool")]),
    "cap::Object": ("struct", [("object", "u32")]),
    "cap::Badged": ("struct", [("object", "u32"), ("badge", "u64"), ("rights", "Rights")]),
    "cap::CNode": ("struct", [("object", "u32"), ("guard", "u64"), ("guard_size", "u8")]),
    "cap::Frame": ("struct", [("object", "u32"), ("rights", "Rights"), ("cached", "bool"), ("executable", "bool")]),
    "object::Untyped": ("struct", [("size_bits", "u8"), ("paddr", "Option<u64>")]),
    "object::CNode": ("struct", [("size_bits", "u8"), ("slots", "Vec<CapTableEntry>")]),
    "object::Tcb": ("struct", [("slots", "Vec<CapTableEntry>"), ("extra", "Box<TcbExtraInfo>")]),
    "TcbExtraInfo": (
        "struct",
        [
            ("ipc_buffer_addr", "u64"),
            ("affinity", "u64"),
            ("prio", "u8"),
            ("max_prio", "u8"),
            ("fpu_disabled", "bool"),
            ("resume", "bool"),
            ("domain", "Option<u8>"),
            ("ip", "u64"),
            ("sp", "u64"),
            ("gprs", "Vec<u64>"),
            ("master_fault_ep", "Option<u64>"),
        ],
    ),
    "object::Irq": ("struct", [("slots", "Vec<CapTableEntry>")]),
    "object::Frame": ("struct", [("size_bits", "u8"), ("paddr", "Option<u64>"), ("init", "FrameInit")]),
    "object::PageTable": (
        "struct",
        [
            ("x86_ept", "bool"),
            ("is_root", "bool"),
            ("level", "Option<u8>"),
            ("slots", "Vec<CapTableEntry>"),
        ],
    ),
    "object::ArmIrq": ("struct", [("slots", "Vec<CapTableEntry>"), ("extra", "Box<ArmIrqExtraInfo>")]),
    "ArmIrqExtraInfo": ("struct", [("trigger", "u8"), ("target", "u64")]),
    "object::IrqMsi": ("struct", [("slots", "Vec<CapTableEntry>"), ("extra", "Box<IrqMsiExtraInfo>")]),
    "IrqMsiExtraInfo": ("struct", [("handle", "u64"), ("pci_bus", "u64"), ("pci_dev", "u64"), ("pci_func", "u64")]),
    "object::IrqIOApic": ("struct", [("slots", "Vec<CapTableEntry>"), ("extra", "Box<IrqIOApicExtraInfo>")]),
    "IrqIOApicExtraInfo": ("struct", [("ioapic", "u64"), ("pin", "u64"), ("level", "u64"), ("polarity", "u64")]),
    "object::RiscvIrq": ("struct", [("slots", "Vec<CapTableEntry>"), ("extra", "RiscvIrqExtraInfo")]),
    "RiscvIrqExtraInfo": ("struct", [("trigger", "u8")]),
    "object::IOPorts": ("struct", [("start_port", "u64"), ("end_port", "u64")]),
    "object::SchedContext": ("struct", [("size_bits", "u8"), ("extra", "SchedContextExtraInfo")]),
    "SchedContextExtraInfo": ("struct", [("period", "u64"), ("budget", "u64"), ("badge", "u64")]),
    "FrameInit": ("enum", [("Fill", "Fill"), ("Embedded", "EmbeddedFrameIndex")]),
    "EmbeddedFrameIndex": ("struct", [("index", "u64")]),
    "Fill": ("struct", [("entries", "Vec<FillEntry>")]),
    "FillEntry": ("struct", [("range", "Range<u64>"), ("content", "FillEntryContent")]),
    "FillEntryContent": ("enum", [("Data", "Content"), ("BootInfo", "FillEntryContentBootInfo")]),
    "Content": ("enum", [("Bytes", "BytesContent"), ("DeflatedBytes", "DeflatedBytesContent")]),
    "BytesContent": ("struct", [("bytes", "Vec<u8>")]),
    "DeflatedBytesContent": ("struct", [("deflated_bytes", "Vec<u8>")]),
    "FillEntryContentBootInfo": ("struct", [("id", "FillEntryContentBootInfoId"), ("offset", "u64")]),
    "FillEntryContentBootInfoId": (
        "enum",
        [
            ("Padding", None),
            ("X86Vbe", None),
            ("X86Mbmmap", None),
            ("X86AcpiRsdp", None),
            ("X86FrameBuffer", None),
            ("X86TscFreq", None),
            ("Fdt", None),
        ],
    ),
}

ROOT_TYPE = "SpecForInitializer"

_PRIMITIVES = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "bool": "<?"}
_STRING_INLINE_CAPACITY = 8


class RkyvError(ValueError):
    """A value does not fit the type table, or an archive is malformed."""


# ---------------------------------------------------------------------------
# Layout


@dataclass(frozen=True)
class _Layout:
    size: int
    align: int
    # struct: [(name, type, offset)]; enum: [(name, payload type | None, payload offset)]
    members: tuple = ()


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def split_generic(t: str) -> tuple[str, str] | None:
    """Split "Vec<T>" into ("Vec", "T"); None for a non-generic name."""
    if t.endswith(">") and "<" in t:
        head, _, arg = t.partition("<")
        return head, arg[:-1]
    return None


def _struct_layout(fields) -> _Layout:
    off, align, members = 0, 1, []
    for name, ft in fields:
        fl = layout(ft)
        off = _align_up(off, fl.align)
        members.append((name, ft, off))
        off += fl.size
        align = max(align, fl.align)
    return _Layout(_align_up(off, align), align, tuple(members))


def _enum_layout(variants) -> _Layout:
    size, align, members = 1, 1, []
    for name, pt in variants:
        if pt is None or pt == UNKNOWN:
            members.append((name, pt, 1))
            continue
        pl = layout(pt)
        off = _align_up(1, pl.align)
        members.append((name, pt, off))
        size = max(size, off + pl.size)
        align = max(align, pl.align)
    return _Layout(_align_up(size, align), align, tuple(members))


@cache
def layout(t: str) -> _Layout:
    """Size, alignment and member offsets of the archived form of type `t`."""
    if t in _PRIMITIVES:
        n = struct.calcsize(_PRIMITIVES[t])
        return _Layout(n, n)
    if t == "String":
        return _Layout(8, 4)
    g = split_generic(t)
    if g:
        head, arg = g
        if head == "Vec":
            return _Layout(8, 4)
        if head == "Box":
            return _Layout(4, 4)
        if head == "Option":
            return _enum_layout([("None", None), ("Some", arg)])
        if head == "Range":
            return _struct_layout([("start", arg), ("end", arg)])
        raise RkyvError(f"unknown generic type {t!r}")
    if t not in TYPES:
        raise RkyvError(f"unknown type {t!r}")
    kind, members = TYPES[t]
    return _struct_layout(members) if kind == "struct" else _enum_layout(members)


def _variant(t: str, value) -> tuple[int, str, str | None, int, object]:
    """(tag, name, payload type, payload offset, payload value) of an enum value."""
    if isinstance(value, str):
        name, payload = value, None
    elif isinstance(value, dict) and len(value) == 1:
        ((name, payload),) = value.items()
    else:
        raise RkyvError(f"{t}: expected a variant name or a one-key dict, got {value!r}")
    for tag, (vname, pt, off) in enumerate(layout(t).members):
        if vname == name:
            if pt == UNKNOWN:
                raise RkyvError(f"{t}::{name}: layout not known for rust-sel4 {RUST_SEL4_COMMIT}")
            if (pt is None) != isinstance(value, str):
                raise RkyvError(f"{t}::{name}: wrong shape {value!r}")
            return tag, name, pt, off, payload
    raise RkyvError(f"{t}: unknown variant {name!r}")


# ---------------------------------------------------------------------------
# Reference serialiser: walks the type table value by value.  `serialize` uses
# the compiled serialiser below and falls back to this one only to say what is
# wrong with a value the compiled one could not take.


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def align(self, a: int) -> int:
        self.buf.extend(b"\0" * (_align_up(len(self.buf), a) - len(self.buf)))
        return len(self.buf)

    # serialize: write what `value` points to; return its resolver
    def serialize(self, t: str, value):
        if t in _PRIMITIVES:
            return None
        if t == "String":
            data = value.encode()
            if len(data) <= _STRING_INLINE_CAPACITY:
                return None
            pos = len(self.buf)
            self.buf.extend(data)
            return pos
        g = split_generic(t)
        if g:
            head, arg = g
            if head == "Vec":
                if arg == "u8":
                    pos = len(self.buf)
                    self.buf.extend(bytes(value))
                    return pos
                items = list(value)
                resolvers = [self.serialize(arg, v) for v in items]
                pos = self.align(layout(arg).align)
                for v, r in zip(items, resolvers, strict=False):
                    self.buf.extend(self.resolve(arg, v, r, len(self.buf)))
                return pos
            if head == "Box":
                r = self.serialize(arg, value)
                pos = self.align(layout(arg).align)
                self.buf.extend(self.resolve(arg, value, r, pos))
                return pos
            if head == "Option":
                return None if value is None else self.serialize(arg, value)
            if head == "Range":
                return None
        kind, _ = TYPES[t]
        if kind == "struct":
            return [self.serialize(ft, _field(t, value, name)) for name, ft, _ in layout(t).members]
        _, _, pt, _, payload = _variant(t, value)
        return None if pt is None else self.serialize(pt, payload)

    # resolve: the archived bytes of `value` placed at absolute position `pos`
    def resolve(self, t: str, value, resolver, pos: int) -> bytes:
        lay = layout(t)
        if t in _PRIMITIVES:
            try:
                return struct.pack(_PRIMITIVES[t], value)
            except struct.error as e:
                raise RkyvError(f"{t}: {value!r}: {e}") from None
        if t == "String":
            data = value.encode()
            if resolver is None:
                return data + b"\xff" * (_STRING_INLINE_CAPACITY - len(data))
            n = len(data)
            tagged = (n & 0x3F) | 0x80 | ((n & ~0x3F) << 2)
            return struct.pack("<Ii", tagged, resolver - pos)
        out = bytearray(lay.size)
        g = split_generic(t)
        if g:
            head, arg = g
            if head == "Vec":
                struct.pack_into("<iI", out, 0, resolver - pos, len(value))
            elif head == "Box":
                struct.pack_into("<i", out, 0, resolver - pos)
            elif head == "Option":
                if value is not None:
                    out[0] = 1
                    off = lay.members[1][2]
                    out[off : off + layout(arg).size] = self.resolve(arg, value, resolver, pos + off)
            else:  # Range
                for name, ft, off in lay.members:
                    out[off : off + layout(ft).size] = self.resolve(ft, value[name], None, pos + off)
            return bytes(out)
        kind, _ = TYPES[t]
        if kind == "struct":
            for (name, ft, off), r in zip(lay.members, resolver, strict=False):
                out[off : off + layout(ft).size] = self.resolve(ft, _field(t, value, name), r, pos + off)
            return bytes(out)
        tag, _, pt, off, payload = _variant(t, value)
        out[0] = tag
        if pt is not None:
            out[off : off + layout(pt).size] = self.resolve(pt, payload, resolver, pos + off)
        return bytes(out)


def _field(t: str, value, name: str):
    try:
        return value[name]
    except (KeyError, TypeError):
        raise RkyvError(f"{t}: missing field {name!r}") from None


def _reference_serialize(spec, root_type: str) -> bytes:
    w = _Writer()
    r = w.serialize(root_type, spec)
    pos = w.align(layout(root_type).align)
    w.buf.extend(w.resolve(root_type, spec, r, pos))
    return bytes(w.buf)


# ---------------------------------------------------------------------------
# Compiled serialiser: Python source generated once per root type from the
# type table, so that a value is written without looking anything up in it.
#
# For every type T it needs the source defines
#   enc_T(v) -> bytes            the archived bytes of v (T points to nothing out of line), or
#   enc_T(v, r, pos) -> bytes    the same for a T that does, given its resolver r and position pos;
#   ser_T(buf, v) -> resolver    writes what v points to into buf (only for a T that points out of line).
# The resolver of a struct is the tuple of its pointing fields' resolvers (that
# resolver alone when there is one); of an enum or Option, its payload's; of a
# String, Vec or Box, the position of its data.  Everything of fixed layout in a
# value (primitives, padding, relative pointers, nested structs, `Option` of a
# primitive) is packed by one precomputed `struct.Struct`.  An enum, or a struct
# with one enum field, has a function per variant, chosen through a dict.

_FORMAT_CHARS = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "bool": "?"}

#: The variant of the enum held by an expression, while writing the function of that variant:
#: expression -> (tag, variant name, payload type or None); the payload is `p`.
Pick = dict[str, tuple[int, str, str | None]]


@cache
def _points_out(t: str) -> bool:
    """Whether the archived form of `t` points to data written before it."""
    if t in _PRIMITIVES:
        return False
    if t == "String":
        return True
    g = split_generic(t)
    if g:
        return g[0] in ("Vec", "Box") or _points_out(g[1])
    kind, members = TYPES[t]
    return any(pt is not None and pt != UNKNOWN and _points_out(pt) for _, pt in members)


def identifier(t: str) -> str:
    """A Python name made of type name `t` ("Vec<u8>" -> "Vec_u8_")."""
    return "".join(c if c.isalnum() else "_" for c in t)


def _head(t: str) -> str:
    """What `t` is: "Vec", "Box", "Option", "Range", "String", a primitive, "struct" or "enum"."""
    g = split_generic(t)
    if g:
        return g[0]
    if t in _PRIMITIVES or t == "String":
        return t
    return TYPES[t][0]


def _fields(t: str) -> list[tuple[str, str, int]]:
    """(name, type, offset) of the fields of a struct or Range."""
    return list(layout(t).members)


def _arg(t: str) -> str:
    """The argument of a generic type ("T" of "Vec<T>")."""
    g = split_generic(t)
    assert g is not None, t
    return g[1]


def _selecting_enum(t: str) -> tuple[str, str] | None:
    """(expression, type) of the enum whose variant chooses how `t` held by `v` is written: `t`
    itself, or the only enum field of a struct; None for other types."""
    if _head(t) == "enum":
        return "v", t
    if _head(t) != "struct":
        return None
    enums = [(name, ft) for name, ft, _ in _fields(t) if _head(ft) == "enum"]
    return (f"v[{enums[0][0]!r}]", enums[0][1]) if len(enums) == 1 else None


class _Compiler:
    """Writes the source of the serialiser of one root type (see above)."""

    def __init__(self) -> None:
        self.defs: list[str] = []
        self.consts: dict[str, object] = {}
        self.done: set[str] = set()

    def const(self, value) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    @staticmethod
    def signature(t: str, *values: str) -> str:
        return ", ".join([*values, "r", "pos"] if _points_out(t) else values)

    # ------------------------------------------------------------------ archived bytes

    def parts(self, t: str, e: str, r: str, off: int, pick: Pick) -> list[tuple[str | None, list[str]]]:
        """The parts of the archived `t` held by expression `e` (resolver `r`) at `pos + off`: each
        (struct format, [argument expressions]) to pack (padding: ("<n>x", [])), or (None, [bytes expression])."""
        head = _head(t)
        if t in _FORMAT_CHARS:
            return [(_FORMAT_CHARS[t], [e])]
        if head == "Vec":
            return [("iI", [f"{r} - pos - {off}", f"len({e})"])]
        if head == "Box":
            return [("i", [f"{r} - pos - {off}"])]
        if e in pick:  # the variant of this function: its tag, then its data
            tag, _, pt = pick[e]
            out: list[tuple[str | None, list[str]]] = [("B", [str(tag)])]
            at = 1
            if pt is not None:
                poff = layout(t).members[tag][2]
                out += _pad(poff - 1) + self.parts(pt, "p", r, off + poff, pick)
                at = poff + layout(pt).size
            return out + _pad(layout(t).size - at)
        if head in ("struct", "Range"):
            pointing = [name for name, ft, _ in _fields(t) if _points_out(ft)]
            out = []
            at = 0
            for name, ft, foff in _fields(t):
                out += _pad(foff - at)
                fr = "None"
                if name in pointing:
                    fr = r if len(pointing) == 1 else f"{r}[{pointing.index(name)}]"
                out += self.parts(ft, f"{e}[{name!r}]", fr, off + foff, pick)
                at = foff + layout(ft).size
            return out + _pad(layout(t).size - at)
        if head == "Option":
            some = self.expr(self.some_parts(t, e, r, off))
            return [(None, [f"({self.const(bytes(layout(t).size))} if {e} is None else {some})"])]
        args = f"{e}, {r}, pos + {off}" if _points_out(t) else e
        return [(None, [f"{self.enc(t)}({args})"])]

    def some_parts(self, t: str, e: str, r: str, off: int) -> list[tuple[str | None, list[str]]]:
        """The parts of `Some(e)` of an Option type `t`."""
        lay = layout(t)
        _, pt, poff = lay.members[1]
        return [
            ("B", ["1"]),
            *_pad(poff - 1),
            *self.parts(pt, e, r, off + poff, {}),
            *_pad(lay.size - poff - layout(pt).size),
        ]

    def expr(self, parts) -> str:
        """One expression giving the bytes of `parts`: runs of packed parts become one `Struct.pack`."""
        pieces: list[str] = []
        fmt = ""
        args: list[str] = []

        def flush() -> None:
            if args:
                pieces.append(f"{self.const(struct.Struct('<' + fmt))}.pack({', '.join(args)})")
            elif fmt:
                pieces.append(self.const(bytes(struct.calcsize("<" + fmt))))

        for kind, value in parts:
            if kind is None:
                flush()
                fmt, args = "", []
                pieces += value
            else:
                fmt += kind
                args += value
        flush()
        return " + ".join(pieces) or "b''"

    def enc(self, t: str) -> str:
        """The name of `enc_T`, defined on first use."""
        name = "enc_" + identifier(t)
        if name in self.done:
            return name
        self.done.add(name)
        head = _head(t)
        if head == "String":
            self.defs.append(
                f"def {name}(v, r, pos):\n"
                f"    data = v.encode()\n"
                f"    if r is None:\n"
                f"        return data + b'\\xff' * ({_STRING_INLINE_CAPACITY} - len(data))\n"
                f"    n = len(data)\n"
                f"    return {self.const(struct.Struct('<Ii'))}.pack((n & 0x3F) | 0x80 | ((n & ~0x3F) << 2), r - pos)\n"
            )
        elif (selecting := _selecting_enum(t)) is not None:
            x, enum = selecting
            self.dispatch(name, self.signature(t, "v"), self.signature(t, "v", "p"), x, enum, self.enc_variant(t))
        else:
            self.defs.append(
                f"def {name}({self.signature(t, 'v')}):\n    return {self.expr(self.parts(t, 'v', 'r', 0, {}))}\n"
            )
        return name

    def enc_variant(self, t: str):
        def define(fn: str, pick: Pick) -> None:
            expr = self.expr(self.parts(t, "v", "r", 0, pick))
            self.defs.append(f"def {fn}({self.signature(t, 'v', 'p')}):\n    return {expr}\n")

        return define

    def dispatch(self, name: str, params: str, call: str, x: str, enum: str, variant_function) -> None:
        """`def name(params)`, which calls the function of the variant of the `enum` held by `x` (`v`
        or a field of it) with `call`; `variant_function(name, pick)` writes each of those."""
        units: list[str] = []
        variants: list[str] = []
        for tag, (vname, pt) in enumerate(TYPES[enum][1]):
            if pt == UNKNOWN:
                continue
            fn = f"{name}__{identifier(vname)}"
            variant_function(fn, {x: (tag, vname, pt)})
            (units if pt is None else variants).append(f"{vname!r}: {fn}")
        self.defs.append(
            f"_units_{name} = {{{', '.join(units)}}}\n"
            f"_variants_{name} = {{{', '.join(variants)}}}\n"
            f"def {name}({params}):\n"
            f"    x = {x}\n"
            f"    if type(x) is str:\n"
            f"        p = None\n"
            f"        return _units_{name}[x]({call})\n"
            f"    ((variant, p),) = x.items()\n"
            f"    return _variants_{name}[variant]({call})\n"
        )

    # ------------------------------------------------------------------ out-of-line data

    def ser_expr(self, t: str, e: str, pick: Pick) -> str:
        """An expression writing what `t` held by `e` points to and giving its resolver."""
        head = _head(t)
        if e in pick:
            pt = pick[e][2]
            return self.ser_expr(pt, "p", pick) if pt is not None and _points_out(pt) else "None"
        if head in ("struct", "Range"):
            calls = [self.ser_expr(ft, f"{e}[{name!r}]", pick) for name, ft, _ in _fields(t) if _points_out(ft)]
            return calls[0] if len(calls) == 1 else f"({', '.join(calls)})"
        if head == "Option":
            return f"(None if {e} is None else {self.ser_expr(_arg(t), e, pick)})"
        return f"{self.ser(t)}(buf, {e})"

    def ser(self, t: str) -> str:
        """The name of `ser_T` (for a `t` that points out of line), defined on first use."""
        name = "ser_" + identifier(t)
        if name in self.done:
            return name
        self.done.add(name)
        head = _head(t)
        if head == "String":
            body = (
                "    data = v.encode()\n"
                f"    if len(data) <= {_STRING_INLINE_CAPACITY}:\n"
                "        return None\n"
                "    pos = len(buf)\n"
                "    buf += data\n"
                "    return pos\n"
            )
        elif head == "Vec":
            body = self.vec_ser(_arg(t))
        elif head == "Box":
            arg = _arg(t)
            body = f"    r = {self.ser_expr(arg, 'v', {})}\n" if _points_out(arg) else ""
            body += _align_source(layout(arg).align)
            body += f"    buf += {self.enc(arg)}({self.signature(arg, 'v')})\n    return pos\n"
        elif (selecting := _selecting_enum(t)) is not None:
            x, enum = selecting
            self.dispatch(name, "buf, v", "buf, v, p", x, enum, self.ser_variant(t))
            return name
        else:
            body = f"    return {self.ser_expr(t, 'v', {})}\n"
        self.defs.append(f"def {name}(buf, v):\n{body}")
        return name

    def ser_variant(self, t: str):
        def define(fn: str, pick: Pick) -> None:
            self.defs.append(f"def {fn}(buf, v, p):\n    return {self.ser_expr(t, 'v', pick)}\n")

        return define

    def vec_ser(self, arg: str) -> str:
        """The body of `ser_Vec<arg>`: the elements' out-of-line data, then the elements."""
        el = layout(arg)
        if arg in _FORMAT_CHARS:
            fmt = _FORMAT_CHARS[arg]
            items = "bytes(v)" if arg == "u8" else f"struct.pack(f'<{{len(v)}}{fmt}', *v)"
            return _align_source(el.align) + f"    buf += {items}\n    return pos\n"
        if not _points_out(arg):
            return _align_source(el.align) + f"    buf += b''.join(map({self.enc(arg)}, v))\n    return pos\n"
        return (
            "    if not v:\n"  # nothing out of line: just where the elements would be
            + _align_source(el.align, "        ")
            + "        return pos\n"
            f"    rs = [{self.ser(arg)}(buf, x) for x in v]\n"
            + _align_source(el.align)
            + f"    buf += b''.join([{self.enc(arg)}(x, r, pos + i * {el.size}) for i, (x, r) in enumerate(zip(v, rs))])\n"
            "    return pos\n"
        )

    def module(self, root: str) -> str:
        """The whole source, ending with `serialize(v) -> bytes` for `root`."""
        top = f"    r = {self.ser_expr(root, 'v', {})}\n" if _points_out(root) else ""
        top += _align_source(layout(root).align)
        top += f"    buf += {self.enc(root)}({self.signature(root, 'v')})\n    return bytes(buf)\n"
        return "\n".join([*self.defs, f"def serialize(v):\n    buf = bytearray()\n{top}"])


def _pad(n: int) -> list[tuple[str | None, list[str]]]:
    return [(f"{n}x", [])] if n > 0 else []


def _align_source(align: int, indent: str = "    ") -> str:
    """Statements padding `buf` to `align` and setting `pos` to where the next value goes."""
    lines = ["pos = len(buf)"]
    if align > 1:
        lines += [f"if pos % {align}:", f"    buf += bytes({align} - pos % {align})", "    pos = len(buf)"]
    return "".join(f"{indent}{line}\n" for line in lines)


@cache
def compiled_source(root_type: str = ROOT_TYPE) -> tuple[str, dict]:
    """The generated serialiser of `root_type`: its source and the constants it refers to."""
    layout(root_type)  # an unknown type is an RkyvError here
    compiler = _Compiler()
    source = compiler.module(root_type)
    return source, compiler.consts


@cache
def _compiled(root_type: str):
    """The serialiser of `root_type` (its source comes from the type table alone, never from a value)."""
    source, consts = compiled_source(root_type)
    namespace = {"struct": struct, **consts}
    exec(compile(source, f"<rkyv serialiser of {root_type}>", "exec"), namespace)
    return namespace["serialize"]


#: What a value that does not fit the type table makes the compiled serialiser raise.
_MISFIT = (LookupError, TypeError, ValueError, AttributeError, struct.error)


def serialize(spec: dict, root_type: str = ROOT_TYPE) -> bytes:
    """The rkyv archive of `spec` (serde-JSON form of `root_type`)."""
    serialise = _compiled(root_type)
    try:
        return serialise(spec)
    except _MISFIT:
        # the reference serialiser walks the value again and says what does not fit (RkyvError)
        return _reference_serialize(spec, root_type)


# ---------------------------------------------------------------------------
# Decoder


def deserialize(data: bytes, root_type: str = ROOT_TYPE) -> dict:
    """Decode an archive back to the serde-JSON form (the root is the last value)."""
    size = layout(root_type).size
    if len(data) < size:
        raise RkyvError("archive shorter than its root value")
    return _Reader(bytes(data)).read(root_type, len(data) - size)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def _unpack(self, fmt: str, pos: int):
        try:
            return struct.unpack_from(fmt, self.data, pos)
        except struct.error:
            raise RkyvError(f"read past the end of the archive at {pos:#x}") from None

    def _target(self, pos: int, count: int, elem: _Layout) -> int:
        (rel,) = self._unpack("<i", pos)
        target = pos + rel
        if target < 0 or target + count * elem.size > len(self.data) or target % elem.align:
            raise RkyvError(f"relative pointer at {pos:#x} out of bounds or misaligned")
        return target

    def read(self, t: str, pos: int):
        lay = layout(t)
        if t in _PRIMITIVES:
            return self._unpack(_PRIMITIVES[t], pos)[0]
        if t == "String":
            raw = self.data[pos : pos + 8]
            if raw[0] & 0xC0 != 0x80:
                return raw.split(b"\xff", 1)[0].decode()
            tagged, rel = self._unpack("<Ii", pos)
            n = (tagged & 0x3F) | ((tagged & ~0xFF) >> 2)
            start = pos + rel
            if start < 0 or start + n > len(self.data):
                raise RkyvError(f"string at {pos:#x} out of bounds")
            return self.data[start : start + n].decode()
        g = split_generic(t)
        if g:
            head, arg = g
            if head == "Vec":
                (n,) = self._unpack("<I", pos + 4)
                el = layout(arg)
                start = self._target(pos, n, el)
                if arg == "u8":
                    return list(self.data[start : start + n])
                return [self.read(arg, start + i * el.size) for i in range(n)]
            if head == "Box":
                return self.read(arg, self._target(pos, 1, layout(arg)))
            if head == "Option":
                tag = self.data[pos]
                if tag > 1:
                    raise RkyvError(f"bad Option tag {tag} at {pos:#x}")
                return None if tag == 0 else self.read(arg, pos + lay.members[1][2])
            return {name: self.read(ft, pos + off) for name, ft, off in lay.members}
        kind, _ = TYPES[t]
        if kind == "struct":
            return {name: self.read(ft, pos + off) for name, ft, off in lay.members}
        tag = self.data[pos]
        if tag >= len(lay.members):
            raise RkyvError(f"{t}: bad tag {tag} at {pos:#x}")
        name, pt, off = lay.members[tag]
        if pt == UNKNOWN:
            raise RkyvError(f"{t}: variant {tag} not known for rust-sel4 {RUST_SEL4_COMMIT}")
        return name if pt is None else {name: self.read(pt, pos + off)}
