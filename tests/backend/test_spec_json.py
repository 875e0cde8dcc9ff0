"""`capdl.json` text: the compiled encoder writes what `json.dumps(spec, indent=2)` writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdf_lsp.backend import spec as S
from sdf_lsp.image import rkyv
from tests.backend.golden import CONFIGS, golden_json, systems
from tests.conftest import require

CASES = [(s, c) for s in systems() for c in CONFIGS]


def _value(t: str) -> st.SearchStrategy:
    """Values of capdl.json type `t` (small vectors)."""
    ints = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}
    if t in ints:
        return st.integers(0, (1 << ints[t]) - 1)
    if t == "bool":
        return st.booleans()
    if t == "String":
        return st.text(max_size=12)  # any characters: the encoder escapes as json does (ASCII only)
    g = rkyv.split_generic(t)
    if g:
        head, arg = g
        if head == "Vec":
            return st.lists(_value(arg), max_size=3)
        if head == "Option":
            return st.none() | _value(arg)
        if head == "Box":
            return _value(arg)
        return _struct([("start", arg), ("end", arg)])
    kind, members = S.JSON_TYPES[t]
    if kind == "struct":
        return _struct(members)
    return st.one_of(
        [
            st.just(name) if pt is None else st.fixed_dictionaries({name: _value(pt)})
            for name, pt in members
            if pt != rkyv.UNKNOWN
        ]
    )


def _struct(fields) -> st.SearchStrategy:
    """Dicts with the fields in their order."""
    names = [name for name, _ in fields]
    return st.tuples(*(_value(ft) for _, ft in fields)).map(lambda values: dict(zip(names, values, strict=True)))


@pytest.mark.parametrize("system,config", CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_compiled_encoder_writes_every_golden_spec(system, config):
    require(bool(CASES), "golden data not found")
    spec = golden_json(system, config, "capdl.json")
    # without falling back to the generic encoder
    assert S._compiled_json()(spec) == json.dumps(spec, indent=2)


@settings(max_examples=60)
@given(spec=_value(rkyv.ROOT_TYPE))
def test_compiled_encoder_writes_what_json_writes(spec):
    assert S._compiled_json()(spec) == json.dumps(spec, indent=2)


def _small_spec() -> dict:
    spec = S.Spec()
    spec.add("ep", "Endpoint")
    spec.add(
        "tcb_é",
        S.tcb([], ipc_buffer_addr=1, affinity=0, prio=9, fpu_disabled=True, resume=True, domain=None, ip=2, sp=3),
    )
    spec.add("cnode", S.cnode(3, [S.cte(1, S.endpoint_cap(0, 5)), S.cte(2, S.frame_cap(1, True, False, True, False))]))
    spec.add(
        "frame",
        S.frame(
            12, 0x1000, [{"range": {"start": 0, "end": 2}, "content": {"Data": {"BytesContent": {"bytes": [1, 2]}}}}]
        ),
    )
    return spec.to_json()


@pytest.mark.parametrize(
    "change",
    [
        "none",
        "an extra field",
        "a missing field",
        "an unknown variant",
        "a unit variant with data",
        "a list in place of an object",
    ],
)
def test_values_outside_the_types_are_written_as_json_writes_them(change):
    spec = _small_spec()
    objects = spec["objects"]
    if change == "an extra field":
        objects[1]["object"]["Tcb"]["extra"]["note"] = "x"
    elif change == "a missing field":
        del objects[2]["object"]["CNode"]["slots"][0]["cap"]["Endpoint"]["badge"]
    elif change == "an unknown variant":
        objects[0]["object"] = "Mystery"
    elif change == "a unit variant with data":
        objects[0]["object"] = {"Endpoint": {"badge": 1}}
    elif change == "a list in place of an object":
        objects[3]["object"]["Frame"]["init"] = [1, None, True, "s"]
    assert S.dump_json(spec) == json.dumps(spec, indent=2)


@pytest.mark.parametrize("value", [[], {}, [1, 2], {"a": [{"b": None}]}, "text", 5, None])
def test_other_json_values(value):
    assert S.dump_json(value) == json.dumps(value, indent=2)


def test_source_has_one_template_per_cap_in_a_cap_table():
    source = S.json_source()
    assert "def j_CapTableEntry_6__Frame(v, p):" in source
    assert source.count("\ndef ") + 1 == len({line for line in source.splitlines() if line.startswith("def ")})


def test_fields_are_written_in_the_order_of_the_types():
    spec = _small_spec()
    rights = spec["objects"][2]["object"]["CNode"]["slots"][1]["cap"]["Frame"]["rights"]
    rights["read"] = rights.pop("read")  # now last
    assert S.dump_json(spec) == json.dumps(_small_spec(), indent=2)  # as serde writes the struct
