"""Reading targets: `--target FILE.json`, a Microkit SDK board directory, the built-in table.

This is the only module of `sdf_lsp.target` that touches the file system. Every
failure is a `TargetError` whose message names the offending file (and key), so the
CLI can print it and exit 2, and the server can show it to the user.
"""

from __future__ import annotations

import errno
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sdf_lsp.files import JSON, FileError, read_file
from sdf_lsp.target.boards import BOARDS, DEFAULT_BOARD, DEFAULT_CONFIG, board_release_problem, board_target
from sdf_lsp.target.model import ARCHES, MemRange, SdkFiles, Target

log = logging.getLogger(__name__)

Warn = Callable[[str], None]


class TargetError(Exception):
    """A target file, SDK directory or board/config choice that cannot be used."""


# --------------------------------------------------------------------------- target files

# Defaults for keys a target file leaves out: the same arch's kernel config of the
# Microkit tool's own test suite (tool/microkit/tests/test.rs, `aarch64`, `riscv64`, `x86_64`).
_COMMON_FILE_DEFAULTS: dict[str, Any] = {
    "word_size": 64,
    "minimum_page_size": 4096,
    "paddr_user_device_top": 1 << 40,
    "kernel_frame_size": 4096,
    "init_cnode_bits": 12,
    "cap_address_bits": 64,
    "max_num_bootinfo_untypeds": 230,
    "fan_out_limit": 256,
    "hypervisor": True,
    "iommu": True,
    "benchmark": False,
    "num_cores": 1,
    "num_domains": 16,
    "num_domain_schedules": 100,
    "fpu": True,
    "arm_smc": None,
    "riscv_pt_levels": None,
    "page_sizes": [4096, 2097152],
}
FILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "aarch64": _COMMON_FILE_DEFAULTS | {"arm_pa_size_bits": 40, "vspace_user_top": 0xFF_FFFF_FFFF},
    "riscv64": _COMMON_FILE_DEFAULTS | {"arm_pa_size_bits": None, "vspace_user_top": 0xFF_FFFF_FFFF},
    "x86_64": _COMMON_FILE_DEFAULTS | {"arm_pa_size_bits": None, "vspace_user_top": 0x7FFF_FFFF_EFFF},
}

_BOOL_KEYS = ("hypervisor", "iommu", "fpu", "benchmark")
_INT_KEYS = (
    "num_cores",
    "num_domains",
    "num_domain_schedules",
    "vspace_user_top",
    "paddr_user_device_top",
    "word_size",
    "minimum_page_size",
    "kernel_frame_size",
    "init_cnode_bits",
    "cap_address_bits",
    "max_num_bootinfo_untypeds",
    "fan_out_limit",
    "page_table_index_bits",
)
_OPTIONAL_INT_KEYS = ("arm_pa_size_bits", "riscv_pt_levels", "vspace_index_bits", "io_page_table_index_bits")
_OPTIONAL_STR_KEYS = ("board", "config")
_KNOWN_KEYS = frozenset(
    ("arch", "arm_smc", "page_sizes", "normal_regions", "device_regions", "object_sizes")
    + _BOOL_KEYS
    + _INT_KEYS
    + _OPTIONAL_INT_KEYS
    + _OPTIONAL_STR_KEYS
)


def _warn_with(warn: Warn | None) -> Warn:
    return warn if warn is not None else log.warning


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_json(path: Path, what: str) -> Any:
    """Parse one JSON file, turning every failure into a TargetError naming it."""
    try:
        text = read_file(str(path), JSON).decode("utf-8")
    except FileError as e:
        if e.errno == errno.ENOENT:
            raise TargetError(f"{path}: {what} does not exist") from None
        raise TargetError(f"{path}: cannot read {what}: {e.reason}") from None
    except UnicodeDecodeError as e:
        raise TargetError(f"{path}: cannot read {what}: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise TargetError(f"{path}: malformed JSON in {what}: {e.msg} at {where}") from None


def _regions(path: Path, key: str, value: Any) -> tuple[MemRange, ...]:
    shape = '{"start": int, "end": int}'
    if not isinstance(value, list):
        raise TargetError(f"{path}: key '{key}' must be a list of {shape} objects, got {_describe(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not _is_int(item.get("start")) or not _is_int(item.get("end")):
            raise TargetError(f"{path}: key '{key}' item {i} must be {shape}, got {_describe(item)}")
        start, end = item["start"], item["end"]
        if start < 0 or end < start:
            raise TargetError(
                f"{path}: key '{key}' item {i} is not a range: start {start:#x}, end {end:#x} (end is exclusive)"
            )
        out.append(MemRange(start, end))
    return tuple(out)


def _object_sizes(path: Path, key: str, value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise TargetError(f"{path}: key '{key}' must be an object of sizes in bits, got {_describe(value)}")
    for name, bits in value.items():
        if not _is_int(bits) or not 0 <= bits < 64:
            raise TargetError(f"{path}: key '{key}.{name}' must be a size in bits (0..63), got {_describe(bits)}")
    return dict(value)


def target_from_json(data: Any, path: Path | str, warn: Warn | None = None) -> Target:
    """Build a Target from the decoded contents of a target file (`path` is for messages)."""
    path = Path(path)
    warn = _warn_with(warn)
    if not isinstance(data, dict):
        raise TargetError(f"{path}: a target file must hold a JSON object, got {type(data).__name__}")
    if "arch" not in data:
        raise TargetError(f"{path}: key 'arch' is required (one of {', '.join(ARCHES)})")
    arch = data["arch"]
    if arch not in ARCHES:
        raise TargetError(f"{path}: key 'arch' must be one of {', '.join(ARCHES)}, got {_describe(arch)}")
    for key in data:
        if key not in _KNOWN_KEYS:
            warn(f"{path}: unknown key '{key}' ignored")

    values: dict[str, Any] = dict(FILE_DEFAULTS[arch]) | {k: v for k, v in data.items() if k in _KNOWN_KEYS}
    fields: dict[str, Any] = {"arch": arch, "source": "file"}
    for key in _BOOL_KEYS:
        if not isinstance(values[key], bool):
            raise TargetError(f"{path}: key '{key}' must be true or false, got {_describe(values[key])}")
        fields[key] = values[key]
    if values["arm_smc"] is not None and not isinstance(values["arm_smc"], bool):
        raise TargetError(f"{path}: key 'arm_smc' must be null, true or false, got {_describe(values['arm_smc'])}")
    fields["arm_smc"] = values["arm_smc"]
    for key in _INT_KEYS:
        if key not in values:
            continue
        if not _is_int(values[key]) or values[key] < 0:
            raise TargetError(f"{path}: key '{key}' must be a non-negative integer, got {_describe(values[key])}")
        fields[key] = values[key]
    for key in _OPTIONAL_INT_KEYS:
        if key not in values:
            continue
        if values[key] is not None and (not _is_int(values[key]) or values[key] < 0):
            raise TargetError(
                f"{path}: key '{key}' must be null or a non-negative integer, got {_describe(values[key])}"
            )
        fields[key] = values[key]
    for key in _OPTIONAL_STR_KEYS:
        if values.get(key) is not None and not isinstance(values[key], str):
            raise TargetError(f"{path}: key '{key}' must be a string, got {_describe(values[key])}")
        fields[key] = values.get(key)
    sizes = values["page_sizes"]
    if not isinstance(sizes, list) or not sizes or not all(_is_int(s) and s > 0 for s in sizes):
        raise TargetError(
            f"{path}: key 'page_sizes' must be a non-empty list of positive integers, got {_describe(sizes)}"
        )
    fields["page_sizes"] = tuple(sizes)
    for key in ("normal_regions", "device_regions"):
        if values.get(key) is not None:
            fields[key] = _regions(path, key, values[key])
    if values.get("object_sizes") is not None:
        fields["object_sizes"] = _object_sizes(path, "object_sizes", values["object_sizes"])
    return Target(**fields)


def load_target_file(path: str | Path, warn: Warn | None = None) -> Target:
    """Read a `--target FILE.json` (README "The target file"); unknown keys only warn.

    Warnings go to `warn` when given, else to this module's logger.
    """
    path = Path(path).expanduser()
    return target_from_json(_read_json(path, "target file"), path, warn)


# --------------------------------------------------------------------------- SDK directories

_REQUIRED_OBJECT_SIZES = (
    "tcb",
    "endpoint",
    "notification",
    "small_page",
    "large_page",
    "asid_pool",
    "asid_table",
    "slot",
    "min_untyped_bits",
    "max_untyped_bits",
    "vspace",
)


def _subdirs(path: Path) -> list[str]:
    try:
        return sorted(p.name for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


class _GenConfig:
    """`include/kernel/gen_config.json`, read the way `main.rs` reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = _read_json(path, "kernel configuration file")
        if not isinstance(data, dict):
            raise TargetError(f"{path}: the kernel configuration must be a JSON object")
        self.data: dict[str, Any] = data

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise TargetError(f"{self.path}: JSON field '{key}' does not exist")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise TargetError(f"{self.path}: JSON field '{key}' must be a string, got {_describe(value)}")
        return value

    def number(self, key: str) -> int:
        """Numbers are strings in gen_config.json ("64"); plain integers are accepted too."""
        value = self._get(key)
        if _is_int(value) and value >= 0:
            return value
        if isinstance(value, str):
            try:
                number = int(value.strip(), 0)
            except ValueError:
                number = -1
            if number >= 0:
                return number
        raise TargetError(f"{self.path}: JSON field '{key}' must be an unsigned number, got {_describe(value)}")

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise TargetError(f"{self.path}: JSON field '{key}' must be true or false, got {_describe(value)}")
        return value


def _platform_regions(path: Path) -> tuple[tuple[MemRange, ...], tuple[MemRange, ...]]:
    data = _read_json(path, "kernel platform configuration file")
    if not isinstance(data, dict):
        raise TargetError(f"{path}: the platform configuration must be a JSON object")
    out = []
    for key in ("memory", "devices"):
        if key not in data:
            raise TargetError(f"{path}: JSON field '{key}' does not exist")
        out.append(_regions(path, key, data[key]))
    return out[0], out[1]


def _int_table(path: Path, what: str, required: tuple[str, ...]) -> dict[str, int]:
    data = _read_json(path, what)
    if not isinstance(data, dict):
        raise TargetError(f"{path}: the {what} must be a JSON object")
    for key in required:
        if key not in data:
            raise TargetError(f"{path}: JSON field '{key}' does not exist")
    for key, value in data.items():
        if not _is_int(value) or value < 0:
            raise TargetError(f"{path}: JSON field '{key}' must be a non-negative integer, got {_describe(value)}")
    return dict(data)


def _optional_json(path: Path, what: str) -> dict | None:
    if not path.exists():
        return None
    data = _read_json(path, what)
    if not isinstance(data, dict):
        raise TargetError(f"{path}: the {what} must be a JSON object")
    return data


def _existing(path: Path) -> str | None:
    return str(path) if path.is_file() else None


# --------------------------------------------------------------------------- SDK version

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?(?:-[0-9A-Za-z.]+)?")


def version_release(version: str) -> tuple[int, int] | None:
    """The release a Microkit VERSION text names: `2.2.0` and `2.2.0-dev` are (2, 2) (a
    development version counts as the release it leads to); None when it is no version."""
    m = _VERSION.fullmatch(version.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def sdk_release(sdk_dir: str | Path, warn: Warn | None = None) -> tuple[int, int] | None:
    """The release of a Microkit SDK from its `VERSION` file (None: no SDK there, or no VERSION;
    a VERSION that names no version is warned about)."""
    path = Path(sdk_dir).expanduser() / "VERSION"
    if not path.is_file():
        return None
    try:
        text = read_file(str(path), JSON).decode("utf-8", errors="replace")
    except FileError as err:
        _warn_with(warn)(f"{path}: {err}")
        return None
    release = version_release(text)
    if release is None:
        _warn_with(warn)(f"{path}: not a Microkit version: {text.strip()[:40]!r}")
    return release


def load_sdk(sdk_dir: str | Path, board: str, config: str = DEFAULT_CONFIG) -> Target:
    """Read `board/<board>/<config>/` of a Microkit SDK, in the formats `main.rs` reads.

    `elf/sel4.elf` and `elf/loader.elf` may be replaced by `kernel-facts.json` /
    `loader-facts.json` in the config directory (SDK fixtures cannot ship the binaries).
    """
    sdk = Path(sdk_dir).expanduser()
    if not sdk.is_dir():
        raise TargetError(f"{sdk}: Microkit SDK directory does not exist")
    boards_dir = sdk / "board"
    board_dir = boards_dir / board
    if not board_dir.is_dir():
        available = _subdirs(boards_dir)
        listing = ", ".join(available) if available else "none"
        raise TargetError(f"{board_dir}: board '{board}' is not in this SDK (available boards: {listing})")
    config_dir = board_dir / config
    if not config_dir.is_dir():
        available = _subdirs(board_dir)
        listing = ", ".join(available) if available else "none"
        raise TargetError(
            f"{config_dir}: config '{config}' is not in this SDK for board '{board}' (available configs: {listing})"
        )

    gen = _GenConfig(config_dir / "include" / "kernel" / "gen_config.json")
    arch = gen.text("SEL4_ARCH")
    if arch not in ARCHES:
        choices = ", ".join(ARCHES)
        raise TargetError(f"{gen.path}: JSON field 'SEL4_ARCH' must be one of {choices}, got {_describe(arch)}")

    if arch == "aarch64":
        hypervisor = gen.flag("ARM_HYPERVISOR_SUPPORT")
    elif arch == "x86_64":
        hypervisor = gen.flag("VTX")
    else:
        hypervisor = False
    iommu = gen.flag("IOMMU") if arch == "x86_64" else False
    arm_pa_size_bits: int | None = None
    if arch == "aarch64":
        if gen.flag("ARM_PA_SIZE_BITS_40"):
            arm_pa_size_bits = 40
        elif gen.flag("ARM_PA_SIZE_BITS_44"):
            arm_pa_size_bits = 44
        else:
            raise TargetError(f"{gen.path}: expected an Arm kernel with 40 or 44 physical address bits")
    arm_smc = gen.flag("ALLOW_SMC_CALLS") if arch == "aarch64" else None
    word_size = gen.number("WORD_SIZE")
    paddr_top = gen.number("PADDR_USER_DEVICE_TOP")
    init_cnode_bits = gen.number("ROOT_CNODE_SIZE_BITS")
    fan_out_limit = gen.number("RETYPE_FAN_OUT_LIMIT")
    max_untypeds = gen.number("MAX_NUM_BOOTINFO_UNTYPED_CAPS")
    num_cores = gen.number("MAX_NUM_NODES") if gen.flag("ENABLE_SMP_SUPPORT") else 1
    num_domains = gen.number("NUM_DOMAINS")
    num_domain_schedules = gen.number("NUM_DOMAIN_SCHEDULES")
    fpu = gen.flag("HAVE_FPU")

    normal_regions = device_regions = None
    if arch != "x86_64":
        normal_regions, device_regions = _platform_regions(config_dir / "platform_gen.json")

    object_sizes = _int_table(config_dir / "object_sizes.json", "kernel object sizes file", _REQUIRED_OBJECT_SIZES)
    constants = _int_table(
        config_dir / "address_space_constants.json",
        "kernel address space constants file",
        ("page_table_index_bits", "vspace_user_top"),
    )
    invocations_path = config_dir / "invocations_all.json"
    invocations = _read_json(invocations_path, "invocations JSON file")
    if not isinstance(invocations, dict):
        raise TargetError(f"{invocations_path}: the invocations JSON file must be a JSON object")

    elf_dir = config_dir / "elf"
    kernel_elf = _existing(elf_dir / "sel4.elf")
    loader_elf = _existing(elf_dir / "loader.elf")
    files = SdkFiles(
        board_dir=str(config_dir),
        kernel_elf=kernel_elf,
        monitor_elf=_existing(elf_dir / "monitor.elf"),
        initialiser_elf=_existing(elf_dir / "initialiser.elf"),
        loader_elf=loader_elf,
        kernel_facts=None if kernel_elf else _optional_json(config_dir / "kernel-facts.json", "kernel facts file"),
        loader_facts=None if loader_elf else _optional_json(config_dir / "loader-facts.json", "loader facts file"),
        invocations=invocations,
    )
    return Target(
        arch=arch,
        board=board,
        config=config,
        source="sdk",
        hypervisor=hypervisor,
        iommu=iommu,
        fpu=fpu,
        benchmark=config == "benchmark",
        arm_smc=arm_smc,
        num_cores=num_cores,
        num_domains=num_domains,
        num_domain_schedules=num_domain_schedules,
        vspace_user_top=constants["vspace_user_top"],
        paddr_user_device_top=paddr_top,
        page_sizes=(0x1000, 0x200000),
        word_size=word_size,
        minimum_page_size=1 << object_sizes["small_page"],
        kernel_frame_size=1 << 21 if arch == "riscv64" else 1 << 12,
        init_cnode_bits=init_cnode_bits,
        cap_address_bits=64,
        max_num_bootinfo_untypeds=max_untypeds,
        fan_out_limit=fan_out_limit,
        arm_pa_size_bits=arm_pa_size_bits,
        riscv_pt_levels=3 if arch == "riscv64" else None,
        normal_regions=normal_regions,
        device_regions=device_regions,
        object_sizes=object_sizes,
        page_table_index_bits=constants["page_table_index_bits"],
        vspace_index_bits=constants.get("vspace_index_bits"),
        io_page_table_index_bits=constants.get("io_page_table_index_bits"),
        sdk=files,
        sdk_release=sdk_release(sdk),
    )


# --------------------------------------------------------------------------- built-in boards


def builtin_target(board: str, config: str = DEFAULT_CONFIG, release: tuple[int, int] | None = None) -> Target:
    """A board of the built-in table (no SDK needed); `release`: as that Microkit release
    has it (a board or config it lacks is an error)."""
    if board not in BOARDS:
        raise TargetError(f"unknown board '{board}' (built-in boards: {', '.join(BOARDS)})")
    info = BOARDS[board]
    if config not in info.configs:
        raise TargetError(f"board '{board}' has no config '{config}' (configs: {', '.join(info.configs)})")
    if release is not None:
        problem = board_release_problem(board, config, release)
        if problem is not None:
            raise TargetError(problem)
    return board_target(board, config)


def default_target(config: str = DEFAULT_CONFIG) -> Target:
    """What a check runs against when no target is given: qemu_virt_aarch64, release."""
    return replace(builtin_target(DEFAULT_BOARD, config), source="default")


def resolve_target(
    target_file: str | Path | None = None,
    sdk: str | Path | None = None,
    board: str | None = None,
    config: str | None = None,
    warn: Warn | None = None,
    release: tuple[int, int] | None = None,
) -> Target:
    """Pick the target by the documented precedence.

    A target file wins, then an SDK with a board (and config), then a built-in board
    (and config), then the default board. An SDK without a board is an error; so is a
    built-in board or config that `release` (the Microkit release checked against) lacks.
    """
    if target_file:
        return load_target_file(target_file, warn)
    if sdk:
        if not board:
            raise TargetError(f"{sdk}: a Microkit SDK needs a board (--board / sdf.target.board)")
        return load_sdk(sdk, board, config or DEFAULT_CONFIG)
    if board:
        return builtin_target(board, config or DEFAULT_CONFIG, release)
    return default_target(config or DEFAULT_CONFIG)


__all__ = [
    "FILE_DEFAULTS",
    "TargetError",
    "builtin_target",
    "default_target",
    "load_sdk",
    "load_target_file",
    "resolve_target",
    "sdk_release",
    "target_from_json",
    "version_release",
]
