"""capdl.json + patched ELFs -> spec.initializer.json + frame_data.bin."""

from __future__ import annotations

import hashlib

import pytest
from image_golden import golden_cases

from sdf_lsp.image import rkyv
from sdf_lsp.image.transform import TransformError, deflate_raw, elf_content_source, inflate_raw, transform_spec


def _deflated_entries(spec: dict):
    for named in spec["objects"]:
        obj = named["object"]
        if isinstance(obj, dict) and "Frame" in obj and "Fill" in obj["Frame"]["init"]:
            for entry in obj["Frame"]["init"]["Fill"]["entries"]:
                if "Data" in entry["content"]:
                    yield entry["content"]["Data"]["DeflatedBytes"]["deflated_bytes"]


def _segments(case):
    return [[seg.mem_data for seg in elf.segments] for elf in case.patched_programs()]


@golden_cases
def test_transform_matches(case):
    expected = case.json("spec.initializer.json")
    # Upstream deflates with miniz_oxide; use its bytes for the data they inflate to.
    miniz = {inflate_raw(bytes(d)): d for d in _deflated_entries(expected)}
    out, frame_data = transform_spec(
        case.json("capdl.json"), _segments(case), case.config, deflate=lambda data: miniz[data]
    )
    assert out == expected
    assert frame_data == case.bytes("frame_data.bin")
    assert rkyv.serialize(out) == case.bytes("spec.rkyv")


@golden_cases
def test_transform_with_zlib_inflates_to_the_same_data(case):
    expected = case.json("spec.initializer.json")
    out, frame_data = transform_spec(case.json("capdl.json"), _segments(case), case.config)
    assert frame_data == case.bytes("frame_data.bin")
    assert [inflate_raw(bytes(d)) for d in _deflated_entries(out)] == [
        inflate_raw(bytes(d)) for d in _deflated_entries(expected)
    ]
    assert rkyv.deserialize(rkyv.serialize(out)) == out


@golden_cases
def test_patched_programs_match_the_tool(case):
    for program, elf in zip(case.programs, case.patched_programs(), strict=False):
        assert [hashlib.sha256(s.mem_data).hexdigest() for s in elf.segments] == program["segments_sha256"]


def _frame(init_entries, paddr=None, size_bits=12):
    return {"Frame": {"size_bits": size_bits, "paddr": paddr, "init": {"entries": init_entries}}}


def _spec(objects, root_end=None):
    return {
        "objects": objects,
        "irqs": [],
        "domain_schedule": None,
        "domain_set_start": None,
        "domain_idx_shift": None,
        "asid_slots": [],
        "root_objects": {"start": 0, "end": len(objects) if root_end is None else root_end},
        "untyped_covers": [],
        "cached_orig_cap_slots": None,
        "log_level": None,
    }


def test_embedding_rules():
    data = {"Data": {"BytesContent": {"bytes": [1, 2, 3]}}}
    entry = {"range": {"start": 8, "end": 11}, "content": data}
    spec = _spec(
        [
            {"name": "embedded", "object": _frame([entry])},
            {"name": "fixed", "object": _frame([entry], paddr=0x1000)},
            {"name": "large", "object": _frame([entry], size_bits=21)},
            {"name": "empty", "object": _frame([])},
            {"name": "smc", "object": "ArmSmc"},
            {"name": "not_root", "object": _frame([entry])},
        ],
        root_end=5,
    )
    out, frame_data = transform_spec(spec, lambda c: bytes(c["BytesContent"]["bytes"]), "release")
    inits = [o["object"]["Frame"]["init"] if isinstance(o["object"], dict) else None for o in out["objects"]]
    assert inits[0] == {"Embedded": {"index": 0}}
    assert frame_data == bytes(8) + b"\x01\x02\x03" + bytes(4096 - 11)
    for init in (inits[1], inits[2], inits[5]):
        (e,) = init["Fill"]["entries"]
        assert inflate_raw(bytes(e["content"]["Data"]["DeflatedBytes"]["deflated_bytes"])) == b"\x01\x02\x03"
    assert inits[3] == {"Fill": {"entries": []}}
    assert all(o["name"] is None for o in out["objects"])
    assert out["cached_orig_cap_slots"] == {"num_occupied": 4, "offsets_by_object": [None, 0, 1, 2, None, 3]}
    assert out["log_level"] == 3


def test_debug_keeps_names_and_bootinfo_is_not_embedded():
    boot = {"range": {"start": 0, "end": 4096}, "content": {"BootInfo": {"id": "Fdt", "offset": 0}}}
    out, frame_data = transform_spec(_spec([{"name": "bi", "object": _frame([boot])}]), [], "debug")
    assert out["objects"][0] == {
        "name": "bi",
        "object": {"Frame": {"size_bits": 12, "paddr": None, "init": {"Fill": {"entries": [boot]}}}},
    }
    assert frame_data == b""


def test_missing_elf_data_is_an_error():
    ref = {"ElfContent": {"elf_id": 3, "elf_seg_idx": 0, "elf_seg_data_range": {"start": 0, "end": 4}}}
    with pytest.raises(TransformError):
        elf_content_source([[b"abcd"]])(ref)


def test_deflate_round_trip():
    data = bytes(range(256)) * 20
    assert inflate_raw(deflate_raw(data)) == data
