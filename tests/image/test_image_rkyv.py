"""The rkyv archive of SpecForInitializer against the archives the tool wrote."""

from __future__ import annotations

import inspect

import pytest
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
