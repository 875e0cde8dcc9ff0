"""`sdf-lsp build` against the upstream tool's outputs for every golden system, debug and release.

Each system is built once (in-process, with the golden SDK fixture and stand-in ELFs);
the tests then compare the spec, the report, the patched symbols, the packed
initialiser and the loader header with what the Microkit tool wrote.  The initial
task's size and placement come from the build itself.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from sdf_lsp.elf import ElfImage
from sdf_lsp.image import rkyv
from sdf_lsp.image.initialiser import PT_SEL4_CAPDL_FRAME_DATA, PT_SEL4_CAPDL_SPEC
from sdf_lsp.image.transform import inflate_raw
from tests.backend.golden import BOARD, CONFIGS, GOLDEN, SDK, golden_dir, golden_json, run_build, systems, typed_segment
from tests.conftest import require

CASES = [(s, c) for s in systems() for c in CONFIGS]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(system, config) -> output directory of its build (built on first use)."""
    require(bool(CASES), f"golden data not found at {GOLDEN}")
    root = tmp_path_factory.mktemp("golden-builds")
    cache = {}

    def get(system: str, config: str):
        key = (system, config)
        if key not in cache:
            out = root / f"{system}-{config}"
            rc, _, err = run_build(system, config, out)
            assert rc == 0, err
            cache[key] = out
        return cache[key]

    return get


cases = pytest.mark.parametrize("system,config", CASES, ids=[f"{s}-{c}" for s, c in CASES])


def test_every_golden_system_is_built():
    require(bool(CASES), f"golden data not found at {GOLDEN}")
    assert len(CASES) == 36  # 18 systems that build, debug and release


@cases
def test_capdl_json(built, system, config):
    out = built(system, config)
    assert json.loads((out / "capdl.json").read_text()) == golden_json(system, config, "capdl.json")
    assert (out / "capdl.json").read_bytes() == (golden_dir(system, config) / "capdl.json").read_bytes()


@cases
def test_report(built, system, config):
    assert (built(system, config) / "report.txt").read_text() == (golden_dir(system, config) / "report.txt").read_text()


@cases
def test_patched_symbols(built, system, config):
    out = built(system, config)
    for program in golden_json(system, config, "patched_symbols.json")["programs"]:
        patched = ElfImage.from_bytes((out / "elf" / f"{program['pd']}.elf").read_bytes())
        assert [hashlib.sha256(s.mem_data).hexdigest() for s in patched.segments] == program["segments_sha256"], (
            program["pd"]
        )
        split = re.fullmatch(r"(\S+) \(symbols from (\S+)\)", program["image"])
        if split:  # a stripped image: read the values through the symbols of the other file
            patched = patched.with_symbols_from(ElfImage.from_bytes((GOLDEN / "elf" / system / split[2]).read_bytes()))
        for name, value in program["values"].items():
            raw = patched.read_symbol(name)
            if isinstance(value, list) and name == "pd_stack_bottom_addrs":
                assert [int.from_bytes(raw[i * 8 : i * 8 + 8], "little") for i in range(len(value))] == value
            elif isinstance(value, list):
                names = [raw[i * 64 : (i + 1) * 64].split(b"\0")[0].decode() for i in range(len(value))]
                assert names == value, name
            elif isinstance(value, str):
                assert raw.rstrip(b"\0").decode() == value
            else:
                assert int.from_bytes(raw, "little") == value, name


def _inflated(spec: dict) -> dict:
    """The spec with every deflated fill replaced by its inflated bytes (miniz and zlib differ)."""
    for named in spec["objects"]:
        frame = named["object"].get("Frame") if isinstance(named["object"], dict) else None
        if frame is None or "Fill" not in frame["init"]:
            continue
        for entry in frame["init"]["Fill"]["entries"]:
            data = entry["content"].get("Data", {})
            if "DeflatedBytes" in data:
                entry["content"]["Data"] = {"Bytes": list(inflate_raw(bytes(data["DeflatedBytes"]["deflated_bytes"])))}
    return spec


@cases
def test_spec_and_frame_data(built, system, config):
    out = built(system, config)
    spec = typed_segment(out / "initialiser.elf", PT_SEL4_CAPDL_SPEC)
    frame_data = typed_segment(out / "initialiser.elf", PT_SEL4_CAPDL_FRAME_DATA)
    golden = golden_dir(system, config)
    assert frame_data == (golden / "frame_data.bin").read_bytes()
    if spec != (golden / "spec.rkyv").read_bytes():
        # only deflated frames may differ (zlib is not miniz_oxide)
        assert _inflated(rkyv.deserialize(spec)) == _inflated(golden_json(system, config, "spec.initializer.json"))
        assert system == "golden_memory"


@cases
def test_loader_header_and_records(built, system, config):
    out = built(system, config)
    image = golden_json(system, config, "result.json")["image"]
    facts = json.loads((SDK / "board" / BOARD / config / "loader-facts.json").read_text())
    expected = bytes.fromhex(image["header_and_region_records_hex"])
    offset = facts["first_pt_load"]["p_memsz"]
    raw = (out / "loader.img").read_bytes()
    assert raw[offset : offset + len(expected)] == expected
    assert len(raw) == golden_json(system, config, "result.json")["outputs"]["loader.img"]["size"]


@pytest.mark.parametrize("config", CONFIGS)
def test_overlapping_pages_fails_with_the_tools_message(tmp_path, config):
    require((GOLDEN / "systems" / "overlapping_pages").is_dir(), "golden data missing")
    result = golden_json("overlapping_pages", config, "result.json")
    out = tmp_path / "out"
    rc, stdout, stderr = run_build("overlapping_pages", config, out)
    assert rc == result["exit"] == 1
    assert not out.exists() and stdout == ""
    # the tool: "Error: <message> @ overlapping_pages.system:16:9"; here "<file>:16:<col>: error: <message> [code]"
    upstream = re.fullmatch(r"Error: (.*) @ overlapping_pages\.system:(\d+):\d+\n", result["stderr"])
    line = next(ln for ln in stderr.splitlines() if ": error: " in ln)
    location, message = line.split(": error: ", 1)
    assert re.sub(r" \[[A-Z0-9-]+\]$", "", message) == upstream[1]
    assert location.split(":")[-2] == upstream[2]
