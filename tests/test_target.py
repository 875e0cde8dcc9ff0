"""Targets: the built-in board table, target JSON files and Microkit SDK directories."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import pytest

from sdf_lsp.target import (
    BOARDS,
    MemRange,
    Target,
    TargetError,
    builtin_target,
    default_object_sizes,
    default_target,
    load_sdk,
    load_target_file,
    resolve_target,
)
from sdf_lsp.target.boards import devices_outside
from sdf_lsp.target.load import FILE_DEFAULTS

FIXTURE_SDK = Path(__file__).resolve().parent / "fixtures" / "sdk"

ALL_BOARDS = [
    "kria_k26",
    "stm32mp2",
    "tqma8xqp1gb",
    "zcu102",
    "maaxboard",
    "imx8mm_evk",
    "imx8mp_evk",
    "imx8mq_evk",
    "imx8mp_iotgate",
    "odroidc2",
    "odroidc4",
    "ultra96v2",
    "qemu_virt_aarch64",
    "qemu_virt_aarch64_el1",
    "rpi4b_1gb",
    "rpi4b_2gb",
    "rpi4b_4gb",
    "rpi4b_8gb",
    "rpi5b_2gb",
    "rockpro64",
    "rock3b",
    "qemu_virt_riscv64",
    "hifive_p550",
    "star64",
    "ariane",
    "cheshire",
    "serengeti",
    "x86_64_generic",
    "x86_64_generic_vtx",
]
NO_SMP = {"kria_k26", "rock3b", "ariane", "cheshire", "serengeti"}
BOARD_CONFIGS = [(b, c) for b in ALL_BOARDS for c in BOARDS[b].configs]

# Fields a Microkit SDK board directory determines (everything but where it came from).
# what only an SDK has: its files and its release (VERSION)
SDK_FIELDS = [f.name for f in dataclasses.fields(Target) if f.name not in ("source", "sdk", "sdk_release")]


def _copy_fixture_sdk(tmp_path: Path) -> Path:
    dest = tmp_path / "sdk"
    shutil.copytree(FIXTURE_SDK, dest)
    return dest


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- board table


def test_board_table_is_complete():
    assert list(BOARDS) == ALL_BOARDS


@pytest.mark.parametrize(("board", "config"), BOARD_CONFIGS)
def test_every_board_config_builds(board, config):
    t = builtin_target(board, config)
    info = BOARDS[board]
    assert (t.board, t.config, t.source, t.arch) == (board, config, "board", info.arch)
    assert t.benchmark is (config == "benchmark")
    if config.startswith("smp-"):
        assert t.num_cores == info.smp_cores and t.num_domains == 1
    else:
        assert t.num_cores == 1 and t.num_domains == 16
    assert t.num_domain_schedules == 100
    assert t.init_cnode_bits == 17
    assert t.page_sizes == (0x1000, 0x200000)
    if t.arch == "aarch64":
        assert t.hypervisor is (board != "qemu_virt_aarch64_el1")
        assert t.arm_smc is True and t.iommu is False
        assert t.arm_pa_size_bits in (40, 44)
        assert t.paddr_user_device_top == 1 << t.arm_pa_size_bits
        assert "vcpu" in t.object_sizes and t.object_sizes["tcb"] == (12 if t.is_debug else 11)
    elif t.arch == "riscv64":
        assert (t.hypervisor, t.iommu, t.arm_smc, t.arm_pa_size_bits) == (False, False, None, None)
        assert t.kernel_frame_size == 1 << 21 and t.riscv_pt_levels == 3
        assert "vcpu" not in t.object_sizes and "io_page_table" not in t.object_sizes
    else:
        assert t.hypervisor is board.endswith("_vtx")
        assert (t.iommu, t.arm_smc, t.normal_regions, t.device_regions) == (True, None, None, None)
        assert t.object_sizes["io_page_table"] == 12
        assert ("vcpu" in t.object_sizes) is t.hypervisor
    if t.normal_regions is not None:
        assert all(r.size > 0 for r in t.normal_regions)
        assert t.ram_bytes and t.ram_bytes > 0
    if t.device_regions is not None and t.normal_regions is not None:
        for dev in t.device_regions:
            assert all(dev.end <= ram.start or ram.end <= dev.start for ram in t.normal_regions)


def test_smp_configs_only_on_smp_boards():
    for board in ALL_BOARDS:
        has_smp = "smp-release" in BOARDS[board].configs
        assert has_smp is (board not in NO_SMP), board
    assert BOARDS["stm32mp2"].smp_cores == 2
    assert BOARDS["x86_64_generic"].smp_cores == 16
    assert BOARDS["qemu_virt_riscv64"].smp_cores == 4


@pytest.mark.parametrize(
    ("board", "vspace_top"),
    [
        ("qemu_virt_aarch64", 0xFFFFFFFFFF),
        ("zcu102", 0xFFFFFFFFFF),
        ("rpi4b_4gb", 0xFFFFFFFFFFF),
        ("qemu_virt_aarch64_el1", 0x7FFFFFFFFFFF),
        ("star64", 0x3FFFFFEFFF),
        ("x86_64_generic", 0x7FFFFFFFEFFF),
    ],
)
def test_vspace_user_top(board, vspace_top):
    assert builtin_target(board).vspace_user_top == vspace_top


@pytest.mark.parametrize(
    ("board", "ipc", "stack_top", "pd_max", "vm_max"),
    [
        # reference section 5.3, default 8 KiB stack
        ("qemu_virt_aarch64", 0xFFFFFFF000, 0xFFFFFFE000, 0xFFFFFFC000, 0x10000000000),
        ("rpi4b_1gb", 0xFFFFFFFF000, 0xFFFFFFFE000, 0xFFFFFFFC000, 0x100000000000),
        ("qemu_virt_aarch64_el1", 0x7FFFFFFFF000, 0x7FFFFFFFE000, 0x7FFFFFFFC000, None),
        ("qemu_virt_riscv64", 0x3FFFFFE000, 0x3FFFFFD000, 0x3FFFFFB000, None),
        ("x86_64_generic", 0x7FFFFFFFE000, 0x7FFFFFFFD000, 0x7FFFFFFFB000, 0x7FFFFFFFF000),
    ],
)
def test_pd_stack_bottom(board, ipc, stack_top, pd_max, vm_max):
    t = builtin_target(board)
    assert t.ipc_buffer_vaddr == ipc
    assert t.pd_stack_top() == stack_top
    assert t.pd_stack_bottom(0x2000) == pd_max
    if vm_max is not None:
        assert t.vm_map_max_vaddr() == vm_max


def test_object_sizes_table():
    aarch64 = default_object_sizes("aarch64", "release")
    assert aarch64["tcb"] == 11 and aarch64["vspace"] == 13 and aarch64["asid_table"] == 9
    assert default_object_sizes("aarch64", "debug")["tcb"] == 12
    assert default_object_sizes("aarch64", "smp-debug")["tcb"] == 12
    assert default_object_sizes("aarch64", "benchmark")["tcb"] == 11
    assert builtin_target("rpi4b_2gb").object_sizes["vspace"] == 12  # hyp + PA44: 4-level root
    assert builtin_target("qemu_virt_aarch64_el1").object_sizes["vspace"] == 12
    riscv = default_object_sizes("riscv64", "release")
    assert (riscv["min_untyped_bits"], riscv["max_untyped_bits"]) == (4, 38)
    x86 = default_object_sizes("x86_64", "release")
    assert (x86["min_untyped_bits"], x86["max_untyped_bits"]) == (4, 47)


def test_default_target():
    t = default_target()
    assert (t.board, t.config, t.source, t.arch) == ("qemu_virt_aarch64", "release", "default", "aarch64")
    assert t.label == "qemu_virt_aarch64 (release)"


@pytest.mark.parametrize(
    ("board", "config"), [("no_such_board", "release"), ("rock3b", "smp-release"), ("zcu102", "fast")]
)
def test_builtin_errors_list_valid_names(board, config):
    with pytest.raises(TargetError) as err:
        builtin_target(board, config)
    text = str(err.value)
    if board == "no_such_board":
        assert "qemu_virt_aarch64" in text and "x86_64_generic_vtx" in text
    else:
        assert "release" in text and "benchmark" in text


def test_device_derivation_reproduces_the_sdk(shared):
    """The helper that derives device regions gives exactly the real platform_gen.json."""
    data = json.loads((shared / "golden/sdk/board/qemu_virt_aarch64/release/platform_gen.json").read_text())
    memory = [MemRange(r["start"], r["end"]) for r in data["memory"]]
    gic_pages = [MemRange(b, b + 0x1000) for b in (0x8000000, 0x8010000, 0x8030000)]
    derived = devices_outside(memory, gic_pages, 1 << 40)
    assert derived == tuple(MemRange(r["start"], r["end"]) for r in data["devices"])


# --------------------------------------------------------------------------- SDK directories


@pytest.mark.parametrize("config", ["release", "debug"])
@pytest.mark.parametrize("sdk_root", ["golden", "fixture"])
def test_builtin_qemu_equals_sdk(shared, sdk_root, config):
    sdk = shared / "golden" / "sdk" if sdk_root == "golden" else FIXTURE_SDK
    from_sdk = load_sdk(sdk, "qemu_virt_aarch64", config)
    builtin = builtin_target("qemu_virt_aarch64", config)
    for name in SDK_FIELDS:
        assert getattr(from_sdk, name) == getattr(builtin, name), name
    assert from_sdk.source == "sdk"
    assert from_sdk.sdk_release == (2, 3) and builtin.sdk_release is None


def test_sdk_files_and_facts(shared):
    t = load_sdk(FIXTURE_SDK, "qemu_virt_aarch64", "debug")
    files = t.sdk
    assert files is not None
    assert Path(files.board_dir) == FIXTURE_SDK / "board/qemu_virt_aarch64/debug"
    assert files.kernel_elf is None and files.loader_elf is None
    assert files.monitor_elf and files.monitor_elf.endswith("elf/monitor.elf")
    assert files.initialiser_elf and files.initialiser_elf.endswith("elf/initialiser.elf")
    assert files.kernel_facts["derived"]["kernel_first_paddr"] == 0x60000000
    assert "boot_lvl0_lower" in files.loader_facts["symbols"]
    assert files.invocations["UntypedRetype"] == 1
    assert t.object_sizes["tcb"] == 12 and t.vspace_index_bits == 10


def test_sdk_riscv64_fixture():
    t = load_sdk(FIXTURE_SDK, "qemu_virt_riscv64")
    assert (t.arch, t.config, t.hypervisor, t.iommu, t.arm_smc, t.arm_pa_size_bits) == (
        "riscv64",
        "release",
        False,
        False,
        None,
        None,
    )
    assert t.vspace_user_top == 0x3FFFFFEFFF and t.kernel_frame_size == 1 << 21
    assert t.normal_regions == (MemRange(0x80200000, 0x100000000),)
    assert t.sdk.kernel_elf and t.sdk.loader_elf and t.sdk.kernel_facts is None
    builtin = builtin_target("qemu_virt_riscv64")
    for name in (
        "num_cores",
        "num_domains",
        "vspace_user_top",
        "paddr_user_device_top",
        "object_sizes",
        "normal_regions",
        "kernel_frame_size",
        "riscv_pt_levels",
        "fpu",
    ):
        assert getattr(t, name) == getattr(builtin, name), name


def test_sdk_x86_64_fixture():
    t = load_sdk(FIXTURE_SDK, "x86_64_generic", "release")
    assert (t.arch, t.hypervisor, t.iommu, t.arm_smc) == ("x86_64", False, True, None)
    assert t.normal_regions is None and t.device_regions is None
    assert t.sdk.loader_elf is None and t.sdk.loader_facts is None
    assert t.io_page_table_index_bits == 9
    builtin = builtin_target("x86_64_generic")
    for name in ("vspace_user_top", "paddr_user_device_top", "object_sizes", "num_domains"):
        assert getattr(t, name) == getattr(builtin, name), name


def _gen_config(sdk: Path, board: str, config: str = "release") -> Path:
    return sdk / "board" / board / config / "include" / "kernel" / "gen_config.json"


def test_sdk_smp_gen_config(tmp_path):
    sdk = _copy_fixture_sdk(tmp_path)
    path = _gen_config(sdk, "qemu_virt_aarch64")
    data = json.loads(path.read_text())
    data.update(ENABLE_SMP_SUPPORT=True, MAX_NUM_NODES="4", NUM_DOMAINS="1")
    path.write_text(json.dumps(data))
    t = load_sdk(sdk, "qemu_virt_aarch64")
    assert (t.num_cores, t.num_domains) == (4, 1)


@pytest.mark.parametrize(
    ("board", "key"),
    [
        ("qemu_virt_aarch64", "NUM_DOMAINS"),
        ("qemu_virt_aarch64", "ARM_HYPERVISOR_SUPPORT"),
        ("qemu_virt_aarch64", "ALLOW_SMC_CALLS"),
        ("qemu_virt_riscv64", "HAVE_FPU"),
        ("x86_64_generic", "IOMMU"),
        ("x86_64_generic", "VTX"),
        ("x86_64_generic", "SEL4_ARCH"),
    ],
)
def test_sdk_missing_gen_config_key(tmp_path, board, key):
    sdk = _copy_fixture_sdk(tmp_path)
    path = _gen_config(sdk, board)
    data = json.loads(path.read_text())
    del data[key]
    path.write_text(json.dumps(data))
    with pytest.raises(TargetError) as err:
        load_sdk(sdk, board)
    assert f"JSON field '{key}' does not exist" in str(err.value)
    assert str(path) in str(err.value)


def test_sdk_keys_of_other_arches_are_not_needed(tmp_path):
    sdk = _copy_fixture_sdk(tmp_path)
    path = _gen_config(sdk, "qemu_virt_riscv64")
    data = json.loads(path.read_text())
    assert "ARM_HYPERVISOR_SUPPORT" not in data and "VTX" not in data
    assert load_sdk(sdk, "qemu_virt_riscv64").arch == "riscv64"


def test_sdk_number_must_be_numeric(tmp_path):
    sdk = _copy_fixture_sdk(tmp_path)
    path = _gen_config(sdk, "qemu_virt_aarch64")
    data = json.loads(path.read_text())
    data["NUM_DOMAINS"] = "sixteen"
    path.write_text(json.dumps(data))
    with pytest.raises(TargetError, match="NUM_DOMAINS") as err:
        load_sdk(sdk, "qemu_virt_aarch64")
    assert str(path) in str(err.value)


def test_sdk_missing_dir(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(TargetError) as err:
        load_sdk(missing, "qemu_virt_aarch64")
    assert str(missing) in str(err.value)


def test_sdk_unknown_board_lists_boards():
    with pytest.raises(TargetError) as err:
        load_sdk(FIXTURE_SDK, "zcu102")
    text = str(err.value)
    assert str(FIXTURE_SDK / "board" / "zcu102") in text
    assert "qemu_virt_aarch64" in text and "qemu_virt_riscv64" in text and "x86_64_generic" in text


def test_sdk_unknown_config_lists_configs():
    with pytest.raises(TargetError) as err:
        load_sdk(FIXTURE_SDK, "qemu_virt_aarch64", "smp-debug")
    text = str(err.value)
    assert str(FIXTURE_SDK / "board" / "qemu_virt_aarch64" / "smp-debug") in text
    assert "debug" in text and "release" in text


@pytest.mark.parametrize(
    "name",
    [
        "include/kernel/gen_config.json",
        "platform_gen.json",
        "object_sizes.json",
        "address_space_constants.json",
        "invocations_all.json",
    ],
)
def test_sdk_malformed_or_missing_file(tmp_path, name):
    sdk = _copy_fixture_sdk(tmp_path)
    path = sdk / "board" / "qemu_virt_aarch64" / "release" / name
    path.write_text("{ not json")
    with pytest.raises(TargetError) as err:
        load_sdk(sdk, "qemu_virt_aarch64")
    assert str(path) in str(err.value) and "malformed JSON" in str(err.value)
    path.unlink()
    with pytest.raises(TargetError) as err:
        load_sdk(sdk, "qemu_virt_aarch64")
    assert str(path) in str(err.value) and "does not exist" in str(err.value)


def test_sdk_object_sizes_missing_field(tmp_path):
    sdk = _copy_fixture_sdk(tmp_path)
    path = sdk / "board" / "qemu_virt_aarch64" / "release" / "object_sizes.json"
    data = json.loads(path.read_text())
    del data["tcb"]
    path.write_text(json.dumps(data))
    with pytest.raises(TargetError, match="'tcb' does not exist") as err:
        load_sdk(sdk, "qemu_virt_aarch64")
    assert str(path) in str(err.value)


def test_sdk_bad_region(tmp_path):
    sdk = _copy_fixture_sdk(tmp_path)
    path = sdk / "board" / "qemu_virt_aarch64" / "release" / "platform_gen.json"
    path.write_text(json.dumps({"devices": [], "memory": [{"start": "0x0", "end": 4096}]}))
    with pytest.raises(TargetError, match="memory") as err:
        load_sdk(sdk, "qemu_virt_aarch64")
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------- target files


def _shared_target_files(shared: Path) -> list[Path]:
    files = sorted((shared / "conformance/upstream-tests/targets").glob("*.json"))
    files += sorted(shared.glob("corpus/*/targets/*.json"))
    return files


def test_shared_target_files_load(shared):
    files = _shared_target_files(shared)
    assert len(files) >= 7
    for path in files:
        warnings: list[str] = []
        t = load_target_file(path, warnings.append)
        data = json.loads(path.read_text())
        assert warnings == [], path
        assert t.source == "file"
        for key, value in data.items():
            got = getattr(t, key)
            assert (list(got) if key == "page_sizes" else got) == value, (path, key)
        assert t.normal_regions is None and t.object_sizes == {}


def test_embedded_defaults_match_upstream_test_configs(shared):
    for arch in ("aarch64", "riscv64", "x86_64"):
        data = json.loads((shared / "conformance/upstream-tests/targets" / f"{arch}.json").read_text())
        data.pop("arch")
        assert FILE_DEFAULTS[arch] == data, arch


@pytest.mark.parametrize("arch", ["aarch64", "riscv64", "x86_64"])
def test_target_file_defaults(tmp_path, arch):
    t = load_target_file(_write(tmp_path / "t.json", json.dumps({"arch": arch})))
    for key, value in FILE_DEFAULTS[arch].items():
        got = getattr(t, key)
        assert (list(got) if key == "page_sizes" else got) == value, key
    assert (t.board, t.config, t.normal_regions, t.device_regions) == (None, None, None, None)
    # absent object_sizes: the section 7 table for the arch
    assert t.object_bits("endpoint") == 4
    assert t.max_untyped_bits == {"aarch64": 47, "riscv64": 38, "x86_64": 47}[arch]


def test_target_file_full(tmp_path):
    data = {
        "arch": "aarch64",
        "board": "myboard",
        "config": "debug",
        "hypervisor": False,
        "iommu": False,
        "arm_smc": True,
        "num_cores": 2,
        "vspace_user_top": 0x7FFFFFFFFFFF,
        "normal_regions": [{"start": 0x40000000, "end": 0x80000000}],
        "device_regions": [{"start": 0, "end": 0x40000000}],
        "object_sizes": {"tcb": 12, "vspace": 12},
    }
    t = load_target_file(_write(tmp_path / "t.json", json.dumps(data)))
    assert (t.board, t.config, t.label, t.hypervisor, t.arm_smc, t.num_cores) == (
        "myboard",
        "debug",
        "myboard (debug)",
        False,
        True,
        2,
    )
    assert t.normal_regions == (MemRange(0x40000000, 0x80000000),)
    assert t.ram_bytes == 0x40000000
    assert t.object_bits("tcb") == 12 and t.object_bits("endpoint") == 4
    assert t.pd_stack_bottom(0x2000) == 0x7FFFFFFFC000


def test_target_file_unknown_key_warns(tmp_path, caplog):
    path = _write(tmp_path / "t.json", json.dumps({"arch": "x86_64", "colour": "blue"}))
    warnings: list[str] = []
    t = load_target_file(path, warnings.append)
    assert t.arch == "x86_64"
    assert len(warnings) == 1 and "colour" in warnings[0] and str(path) in warnings[0]
    with caplog.at_level(logging.WARNING, logger="sdf_lsp.target.load"):
        load_target_file(path)
    assert any("colour" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{ "arch": ', "malformed JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", "'arch'"),
        ('{"arch": "mips"}', "'arch'"),
        ('{"arch": 64}', "'arch'"),
        ('{"arch": "aarch64", "hypervisor": "yes"}', "'hypervisor'"),
        ('{"arch": "aarch64", "num_cores": true}', "'num_cores'"),
        ('{"arch": "aarch64", "num_domains": -1}', "'num_domains'"),
        ('{"arch": "aarch64", "vspace_user_top": "0xffffffffff"}', "'vspace_user_top'"),
        ('{"arch": "aarch64", "arm_smc": 1}', "'arm_smc'"),
        ('{"arch": "aarch64", "arm_pa_size_bits": "40"}', "'arm_pa_size_bits'"),
        ('{"arch": "aarch64", "page_sizes": [4096, "2M"]}', "'page_sizes'"),
        ('{"arch": "aarch64", "normal_regions": [{"start": 4096}]}', "'normal_regions'"),
        ('{"arch": "aarch64", "device_regions": [{"start": 8192, "end": 4096}]}', "'device_regions'"),
        ('{"arch": "aarch64", "normal_regions": {"start": 0, "end": 1}}', "'normal_regions'"),
        ('{"arch": "aarch64", "object_sizes": {"tcb": "11"}}', "'object_sizes.tcb'"),
        ('{"arch": "aarch64", "board": 3}', "'board'"),
    ],
)
def test_target_file_errors_name_file_and_key(tmp_path, text, needle):
    path = _write(tmp_path / "bad.json", text)
    with pytest.raises(TargetError) as err:
        load_target_file(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_target_file_missing(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(TargetError) as err:
        load_target_file(path)
    assert str(path) in str(err.value) and "does not exist" in str(err.value)


# --------------------------------------------------------------------------- precedence


def test_resolve_precedence(tmp_path):
    path = _write(tmp_path / "t.json", json.dumps({"arch": "riscv64"}))
    assert resolve_target(target_file=path, sdk=FIXTURE_SDK, board="zcu102").source == "file"
    t = resolve_target(sdk=FIXTURE_SDK, board="qemu_virt_aarch64", config="debug")
    assert (t.source, t.config) == ("sdk", "debug")
    t = resolve_target(board="zcu102")
    assert (t.source, t.board, t.config) == ("board", "zcu102", "release")
    t = resolve_target()
    assert (t.source, t.board, t.config) == ("default", "qemu_virt_aarch64", "release")
    assert resolve_target(config="debug").config == "debug"


def test_resolve_sdk_without_board():
    with pytest.raises(TargetError, match="board"):
        resolve_target(sdk=FIXTURE_SDK)
