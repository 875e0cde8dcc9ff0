"""The rkyv archive of SpecForInitializer against the archives the tool wrote."""

from __future__ import annotations

import inspect
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from image_golden import golden_cases

from sdf_lsp.image import rkyv


@golden_cases
def test_serialise_is_byte_identical(case):
    spec = case.json("spec.initializer.json")
    assert rkyv.serialize(spec) == case.bytes("spec.rkyv")


@golden_cases
def test_decode_gives_the_json(case):
    assert rkyv.deserialize(case.bytes("spec.rkyv")) == case.json("spec.initializer.json")


def test_type_table_names_the_pinned_rust_sel4_commit():
    assert rkyv.RUST_SEL4_COMMIT == "dbe6445d"
    assert "dbe6445d" in inspect.getsource(rkyv)


def test_layouts_of_the_main_types():
    # sizes seen in the reference archives
    assert rkyv.layout("NamedObject").size == 64
    assert rkyv.layout("CapTableEntry").size == 40
    assert rkyv.layout("SpecForInitializer").size == 112
    assert rkyv.layout("Option<String>").size == 12


def test_short_and_long_strings():
    spec = {"name": "ab", "object": "Endpoint"}
    short = rkyv.serialize(spec, "NamedObject")
    assert short[4:12] == b"ab" + b"\xff" * 6
    assert rkyv.deserialize(short, "NamedObject") == spec
    long = {"name": "x" * 100, "object": "Reply"}
    data = rkyv.serialize(long, "NamedObject")
    assert rkyv.deserialize(data, "NamedObject") == long


def test_unknown_variant_is_an_error():
    with pytest.raises(rkyv.RkyvError, match="unknown variant"):
        rkyv.serialize({"name": None, "object": "NoSuchObject"}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="layout not known"):
        rkyv.serialize({"name": None, "object": {"<unknown 9>": {}}}, "NamedObject")


def test_malformed_archive_is_an_error():
    with pytest.raises(rkyv.RkyvError):
        rkyv.deserialize(b"\x00" * 8)
    bad = bytearray(rkyv.serialize({"name": None, "object": "Endpoint"}, "NamedObject"))
    bad[16] = 200  # object tag
    with pytest.raises(rkyv.RkyvError, match="bad tag"):
        rkyv.deserialize(bytes(bad), "NamedObject")


# --------------------------------------------------------------------------- the compiled serialiser


def _value(t: str) -> st.SearchStrategy:
    """Values of type `t` in serde-JSON form, drawn over the whole type table (small vectors)."""
    ints = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}
    if t in ints:
        return st.integers(0, (1 << ints[t]) - 1)
    if t == "bool":
        return st.booleans()
    if t == "String":
        # around the 8 inline bytes and the 6 bits the length's low byte holds
        return st.text(max_size=70) | st.sampled_from(["", "x" * 8, "é" * 4, "y" * 9, "z" * 63, "w" * 64, "v" * 300])
    g = rkyv.split_generic(t)
    if g:
        head, arg = g
        if head == "Vec":
            return st.lists(_value(arg), max_size=9 if arg == "u8" else 3)
        if head == "Option":
            return st.none() | _value(arg)
        if head == "Box":
            return _value(arg)
        return st.fixed_dictionaries({"start": _value(arg), "end": _value(arg)})
    kind, members = rkyv.TYPES[t]
    if kind == "struct":
        return st.fixed_dictionaries({name: _value(ft) for name, ft in members})
    return st.one_of(
        [
            st.just(name) if pt is None else st.fixed_dictionaries({name: _value(pt)})
            for name, pt in members
            if pt != rkyv.UNKNOWN
        ]
    )


@golden_cases
def test_compiled_serialiser_takes_every_golden_spec_as_it_is(case):
    # without falling back to the reference serialiser
    spec = case.json("spec.initializer.json")
    assert rkyv._compiled(rkyv.ROOT_TYPE)(spec) == case.bytes("spec.rkyv")


@pytest.mark.parametrize("t", ["SpecForInitializer", "NamedObject", "CapTableEntry", "TcbExtraInfo", "Fill"])
@settings(max_examples=40)
@given(data=st.data())
def test_compiled_serialiser_writes_what_the_reference_writes(t, data):
    value = data.draw(_value(t))
    out = rkyv._compiled(t)(value)
    assert out == rkyv._reference_serialize(value, t)
    assert rkyv.deserialize(out, t) == value


def _spec(objects: list, **changes) -> dict:
    spec = {
        "objects": [{"name": None, "object": o} for o in objects],
        "irqs": [],
        "domain_schedule": None,
        "domain_set_start": None,
        "domain_idx_shift": None,
        "asid_slots": [],
        "root_objects": {"start": 0, "end": len(objects)},
        "untyped_covers": [],
        "cached_orig_cap_slots": None,
        "log_level": None,
    }
    spec.update(changes)
    return spec


_RIGHTS = {"read": True, "write": False, "grant": True, "grant_reply": False}
_TCB_EXTRA = {
    "ipc_buffer_addr": (1 << 64) - 1,
    "affinity": 3,
    "prio": 255,
    "max_prio": 254,
    "fpu_disabled": True,
    "resume": False,
    "domain": 7,
    "ip": 0x200000,
    "sp": 0x10000000,
    "gprs": [1, 2, (1 << 64) - 1],
    "master_fault_ep": 9,
}

EDGE_SPECS = {
    "empty": _spec([]),
    "empty vectors are aligned where the next data goes": _spec(
        [{"CNode": {"size_bits": 0, "slots": []}}, {"Tcb": {"slots": [], "extra": dict(_TCB_EXTRA, gprs=[])}}],
        asid_slots=[],
        domain_schedule=[],
    ),
    "odd byte vectors before aligned data": _spec(
        [
            {
                "Frame": {
                    "size_bits": 21,
                    "paddr": None,
                    "init": {
                        "Fill": {
                            "entries": [
                                {
                                    "range": {"start": 0, "end": n},
                                    "content": {"Data": {"DeflatedBytes": {"deflated_bytes": list(range(n))}}},
                                }
                                for n in (0, 1, 3, 7, 9)
                            ]
                        }
                    },
                }
            },
            {"Tcb": {"slots": [{"slot": 1, "cap": {"Tcb": {"object": 0}}}], "extra": _TCB_EXTRA}},
        ]
    ),
    "the largest objects and caps": _spec(
        [
            {
                "CNode": {
                    "size_bits": 255,
                    "slots": [
                        {
                            "slot": (1 << 32) - 1,
                            "cap": {"Endpoint": {"object": 1, "badge": (1 << 64) - 1, "rights": _RIGHTS}},
                        },
                        {"slot": 2, "cap": {"CNode": {"object": 0, "guard": 1 << 63, "guard_size": 255}}},
                        {
                            "slot": 3,
                            "cap": {"Frame": {"object": 2, "rights": _RIGHTS, "cached": False, "executable": True}},
                        },
                    ],
                }
            },
            {"IrqMsi": {"slots": [], "extra": {"handle": 1, "pci_bus": 2, "pci_dev": 3, "pci_func": 4}}},
            {"IrqIOApic": {"slots": [], "extra": {"ioapic": 1, "pin": 2, "level": 3, "polarity": (1 << 64) - 1}}},
            {"IOPorts": {"start_port": 0, "end_port": (1 << 64) - 1}},
            {"SchedContext": {"size_bits": 8, "extra": {"period": 1, "budget": 2, "badge": 3}}},
            {"Frame": {"size_bits": 12, "paddr": (1 << 64) - 1, "init": {"Embedded": {"index": 5}}}},
            "ArmSmc",
        ],
        irqs=[{"irq": (1 << 64) - 1, "handler": 1}],
        domain_schedule=[{"domain": 255, "duration": {"Us": 5}}, {"domain": 0, "duration": "EndMarker"}],
        domain_set_start=0,
        domain_idx_shift=(1 << 64) - 1,
        untyped_covers=[{"parent": 0, "children": {"start": 1, "end": 2}}],
        cached_orig_cap_slots={"num_occupied": 2, "offsets_by_object": [0, None, 1]},
        log_level=3,
    ),
}


@pytest.mark.parametrize("name", EDGE_SPECS)
def test_compiled_serialiser_on_edge_cases(name):
    spec = EDGE_SPECS[name]
    out = rkyv._compiled(rkyv.ROOT_TYPE)(spec)
    assert out == rkyv._reference_serialize(spec, rkyv.ROOT_TYPE)
    assert rkyv.deserialize(out) == spec


def test_empty_vector_points_to_the_aligned_end():
    data = rkyv.serialize({"size_bits": 4, "slots": []}, "object::CNode")
    # nothing out of line: the root is at 0, and the vector (at 4) points back to where its items would be (0)
    assert data == bytes([4, 0, 0, 0]) + (-4).to_bytes(4, "little", signed=True) + bytes(4)
    # a root with an empty vector first: the vector points to the root itself
    data = rkyv.serialize({"slots": [], "extra": {"trigger": 1}}, "object::RiscvIrq")
    assert data == (0).to_bytes(4, "little", signed=True) + bytes(4) + bytes([1, 0, 0, 0])


def test_values_that_do_not_fit_are_errors_that_say_why():
    with pytest.raises(rkyv.RkyvError, match="missing field 'init'"):
        rkyv.serialize({"name": None, "object": {"Frame": {"size_bits": 12, "paddr": None}}}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="u8: 256"):
        rkyv.serialize({"name": None, "object": {"CNode": {"size_bits": 256, "slots": []}}}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="wrong shape"):
        rkyv.serialize({"name": None, "object": {"Endpoint": {}}}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="wrong shape"):
        rkyv.serialize({"name": None, "object": "Tcb"}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="expected a variant"):
        rkyv.serialize({"name": None, "object": {"Endpoint": None, "Reply": None}}, "NamedObject")
    with pytest.raises(rkyv.RkyvError, match="unknown type"):
        rkyv.serialize({}, "NoSuchType")


def test_generated_source_packs_fixed_parts_at_once():
    source, _ = rkyv.compiled_source()
    # a cap table entry with a frame cap: its slot and the cap packed by one Struct
    assert "def enc_CapTableEntry__Frame(v, p):\n    return _k" in source
    assert " + " not in source.split("def enc_CapTableEntry__Frame(v, p):")[1].split("\n")[1]
    assert source.count("\ndef ") == len(set(re.findall(r"\ndef (\w+)", source)))
