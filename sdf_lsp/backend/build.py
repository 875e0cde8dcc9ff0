"""The build: from an analysed system to the capDL spec, the report and a bootable image.

Everything upstream's `main.rs` does after parsing (reference section 10):
find and load the program images, patch their symbols, build the spec, pack
it into the capDL initialiser, emulate the kernel's boot to place the initial
task, simulate the initialiser's allocation, and place the memory regions the
tool must place; when it placed some, do it all again with their addresses
(at most `MAX_BUILD_ITERATION` passes).  On x86_64 the memory map is known
only at boot, so nothing is placed and the initialiser is the boot module.

Outputs go to a fresh directory beside OUTDIR that replaces it only once
everything is written, so a failed build leaves OUTDIR as it was. A build replaces
only a folder that an earlier build wrote (its manifest lists every file in it): a
folder holding anything else, such as the project's own sources, is refused untouched.

Or, as `microkit -o loader.img -r report.txt --capdl-json capdl.json` does, each output
goes to the file named for it (`Named`): each is written to a temporary file in its own
folder, and all are renamed into place only once every one is written.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    import fcntl
except ImportError:  # not on Windows: work folders of killed builds are then left alone
    fcntl = None  # type: ignore[assignment]

from sdf_lsp.backend import errors as E
from sdf_lsp.backend.alloc import Allocation, free_normal_memory, place_regions, simulate
from sdf_lsp.backend.builder import BuiltSpec, build_spec
from sdf_lsp.backend.errors import BuildError
from sdf_lsp.backend.programs import Program, load_programs, load_sdk_elf
from sdf_lsp.backend.report import render
from sdf_lsp.backend.spec import dump_json, object_paddr, physical_size_bits
from sdf_lsp.backend.symbols import patch_monitor, patch_program, pd_setvars
from sdf_lsp.diagnostics import Diagnostic, Related
from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.files import ELF, JSON, PREFILL, FileError, ProgramImages, SearchPathFiles, read_file
from sdf_lsp.image.boot import BootConfig, BootError, BootPlan, KernelFacts, plan_boot
from sdf_lsp.image.initialiser import PackedSpec, pack_spec_into_initial_task
from sdf_lsp.image.loader import KernelImage, LoaderError, LoaderFacts, build_loader_image
from sdf_lsp.image.rkyv import RkyvError
from sdf_lsp.image.transform import TransformError
from sdf_lsp.layout import Layout
from sdf_lsp.model.types import span_of
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target

#: Passes of patch, spec, pack, boot and allocation (upstream `MAX_BUILD_ITERATION`).
MAX_BUILD_ITERATION = 3
IMAGE_TYPES = ("binary", "elf", "uimage")
#: The list of files a build wrote, kept in its output folder: a later build replaces only such a folder.
MANIFEST = ".sdf-lsp-build.json"
#: RISC-V boards whose loader is started as an ELF.
_ELF_BOARDS = ("ariane", "cheshire", "serengeti")

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Named:
    """Where microkit's options put the outputs: `-o` the image, `-r` the report, `--capdl-json` the spec."""

    image: str
    report: str
    capdl_json: str | None = None


@dataclass
class BuildResult:
    """What a build did: the files it wrote (in `out_dir`) or why it could not."""

    ok: bool
    out_dir: str
    files: list[str] = field(default_factory=list)
    report: str | None = None
    errors: list[Diagnostic] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # upstream's closing `MICROKIT|...` lines


@dataclass
class Product:
    """Everything the last build pass made."""

    built: BuiltSpec
    spec_json: dict
    packed: PackedSpec
    programs: list[ElfImage]  # patched, PDs in order then the monitor
    plan: BootPlan | None
    allocation: Allocation | None


def default_image_type(target: Target) -> str:
    """Upstream's default: a raw binary on aarch64, a uImage on RISC-V (ELF on some boards), ELF on x86_64."""
    if target.arch == "riscv64":
        return "elf" if (target.board or "").startswith(_ELF_BOARDS) else "uimage"
    return "elf" if target.arch == "x86_64" else "binary"


def build(
    analysis,
    target: Target,
    files: SearchPathFiles,
    outdir: str,
    image_type: str | None = None,
    progress: Progress | None = None,
    named: Named | None = None,
) -> BuildResult:
    """Build the analysed system into `outdir` (replaced atomically), or with `named` into the
    files it names (all or nothing; `outdir` is then the image's folder).

    Refuses when the analysis has errors (they are the result's errors). `files` are the files
    the analysis read (the same `SearchPathFiles`, or one sharing its `ProgramImages`), so that
    the build parses no program image again.
    `progress(message, percent)` is called as the build goes on.
    """
    notify = progress or (lambda message, percent: None)
    out_dir = os.path.dirname(os.path.abspath(named.image)) if named is not None else os.path.abspath(outdir)
    if analysis.errors or analysis.system is None:
        return BuildResult(False, out_dir, errors=list(analysis.errors))
    collecting = gc.isenabled()
    gc.disable()  # the build makes millions of acyclic dicts; collecting during it only costs time
    try:
        notify("Loading program images", 5)
        product = make(analysis.system, analysis.layout, target, files, notify)
        notify("Writing outputs", 90)
        outputs = output_files(
            product, analysis.system, analysis.layout, target, image_type or default_image_type(target), files.images
        )
        span = analysis.system.root.name_span
        if named is None:
            written = write_outputs(outputs, out_dir, span)
            report = os.path.join(out_dir, "report.txt")
        else:
            written = write_named(outputs, named, span)
            report = os.path.abspath(named.report)
    except BuildError as err:
        return BuildResult(False, out_dir, errors=err.diagnostics)
    finally:
        if collecting:
            gc.enable()
    notify("Done", 100)
    return BuildResult(True, out_dir, written, report, summary=summary(product, target, outputs["loader.img"]))


# ---------------------------------------------------------------------------- passes


def make(system: System, layout: Layout, target: Target, files: SearchPathFiles, progress: Progress) -> Product:
    """Load, patch, build, pack, boot and allocate until the placed memory regions settle."""
    root = system.root.name_span
    check_supported(system, target)
    sdk = target.sdk
    images = files.images
    monitor = load_sdk_elf(images, sdk.monitor_elf if sdk else None, "monitor", root)
    initialiser = load_sdk_elf(images, sdk.initialiser_elf if sdk else None, "capDL initialiser", root)
    kernel = boot_inputs(target, root, images) if target.arch != "x86_64" else None
    programs = load_programs(system, files)
    prefills = read_prefills(system, files)
    mr_paddr: dict[str, int | None] = {mr.name: mr.phys_addr for mr in system.mr_by_name.values()}
    tool_placed = tool_placed_regions(system)
    ends = {name: [end for end, _ in pairs] for name, pairs in system.channel_ends.items()}
    for iteration in range(MAX_BUILD_ITERATION):

        def step(message: str, percent: int, iteration=iteration):
            progress(f"{message} (pass {iteration + 1})", percent + 25 * iteration)

        product = one_pass(
            system, layout, target, programs, monitor, initialiser, kernel, mr_paddr, prefills, ends, step
        )
        if product.plan is None:
            return product
        stale = displaced_regions(product, tool_placed)
        if not product.allocation.ok and not stale:
            raise allocation_error(product, system, target)
        for mr in stale:  # the initial task grew over a region placed in an earlier pass: place it again
            mr_paddr[mr.name] = None
        unplaced = [mr for mr in tool_placed if mr_paddr[mr.name] is None]
        if not unplaced:
            return product
        free = free_normal_memory(
            product.plan.boot_info.untypeds, product.built.spec, target, {id(mr.el) for mr in unplaced}
        )
        placed, missing = place_regions(
            [(mr.name, system.size_of(mr), system.page_size_of(mr)) for mr in unplaced], free
        )
        if missing:
            mr = system.mr_by_name[missing[0]]
            align = human_size(system.page_size_of(mr))
            raise E.fail(
                span_of(mr.el, "name"),
                E.PLACEMENT,
                f"no free memory for memory region '{mr.name}' ({human_size(system.size_of(mr) or 0)}, aligned to {align}): "
                f"{human_size(free.total)} of normal memory is left",
            )
        mr_paddr.update(placed)
    raise E.fail(root, E.PLACEMENT, f"the placement of memory regions did not settle in {MAX_BUILD_ITERATION} passes")


def one_pass(
    system,
    layout,
    target,
    programs: list[Program],
    monitor,
    initialiser,
    kernel,
    mr_paddr,
    prefills,
    ends,
    progress: Progress,
) -> Product:
    """Patch, build the spec, pack it, and (ARM/RISC-V) boot and allocate."""
    root = system.root.name_span
    progress("Patching symbols and building the capDL spec", 10)
    patched = []
    for p in programs:
        pd_ends = ends.get(p.pd.name, [])
        patched.append(
            patch_program(p, target, pd_setvars(p.pd, system, layout.cspace(p.pd), mr_paddr, pd_ends), pd_ends)
        )
    patched.append(patch_monitor(monitor, system, target, root))
    built = build_spec(system, layout, target, patched, mr_paddr, prefills)
    spec_json = built.spec.to_json()
    progress("Packing the spec into the capDL initialiser", 15)
    try:
        packed = pack_spec_into_initial_task(
            spec_json, [[s.mem_data for s in elf.segments] for elf in patched], target.config or "release", initialiser
        )
    except (ElfError, RkyvError, TransformError) as err:
        raise E.fail(root, E.UNSUPPORTED, f"cannot pack the spec into the capDL initialiser: {err}") from None
    if kernel is None:
        return Product(built, spec_json, packed, patched, None, None)
    config, facts = kernel
    progress("Emulating the kernel boot and the object allocation", 25)
    try:
        plan = plan_boot(
            config,
            [(r.start, r.end) for r in target.normal_regions],
            [(r.start, r.end) for r in target.device_regions or ()],
            facts,
            packed.initial_task.image_bound,
        )
    except BootError as err:
        size = human_size(packed.initial_task.size)
        raise E.fail(root, E.OUT_OF_MEMORY, f"cannot place the initial task ({size}): {err}") from None
    allocation = simulate(built.spec, plan.boot_info.untypeds, target)
    return Product(built, spec_json, packed, patched, plan, allocation)


def check_supported(system: System, target: Target) -> None:
    """Constructs the pinned capDL initialiser (rust-sel4 dbe6445d) cannot express."""
    problems = []
    for mr in system.mrs:
        if mr.prefill_bootinfo == "post_capdl_untypeds":
            problems.append(
                E.problem(
                    span_of(mr.el, "prefill_bootinfo"),
                    E.UNSUPPORTED,
                    'prefill_bootinfo="post_capdl_untypeds" cannot be built: the capDL initialiser this '
                    "build packs has no boot-info fill for the remaining untypeds",
                )
            )
    for cn in system.cnodes:
        if cn.post_capdl_untypeds:
            problems.append(
                E.problem(
                    span_of(cn.el, "post_capdl_untypeds"),
                    E.UNSUPPORTED,
                    "post_capdl_untypeds cannot be built: the capDL initialiser this build packs does not "
                    "hand over the remaining untypeds",
                )
            )
    for pd in system.pds:
        for cap in pd.cspace.caps if pd.cspace is not None else ():
            if cap.kind == "Smc" and cap.function_id:
                problems.append(
                    E.problem(
                        span_of(cap.el, "function_id"),
                        E.UNSUPPORTED,
                        f"cap_smc function_id {cap.function_id:#x} cannot be built: the capDL initialiser this "
                        'build packs makes only unbadged (unrestricted) SMC caps; use function_id="0"',
                    )
                )
    if target.iommu and system.io_spaces:
        for io in system.io_spaces:
            problems.append(
                E.problem(
                    io.el.name_span,
                    E.UNSUPPORTED,
                    "io_address_space cannot be built: the capDL initialiser this build packs has no IOMMU objects",
                )
            )
    if problems:
        raise BuildError(problems)


def boot_inputs(target: Target, span, images: ProgramImages) -> tuple[BootConfig, KernelFacts]:
    """The kernel configuration and facts the boot emulation needs (ARM and RISC-V)."""
    sdk = target.sdk
    if target.normal_regions is None:
        raise E.fail(
            span,
            E.NO_SDK,
            f"the target {target.label} has no RAM regions: the build cannot place the initial task "
            "(give a target with normal_regions, or a Microkit SDK)",
        )
    if sdk is None or (sdk.kernel_elf is None and sdk.kernel_facts is None):
        raise E.fail(
            span,
            E.NO_SDK,
            "the target has no kernel (sel4.elf or kernel-facts.json): building needs a Microkit SDK "
            "(--sdk DIR --board NAME)",
        )
    if sdk.loader_elf is None and sdk.loader_facts is None:
        raise E.fail(
            span, E.NO_SDK, "the target has no loader (loader.elf or loader-facts.json): building needs a Microkit SDK"
        )
    if sdk.kernel_elf is not None:
        try:
            facts = KernelFacts.from_elf(images.load(sdk.kernel_elf))
        except ElfError as err:
            raise E.fail(span, E.BAD_ELF, f"failed to read the kernel ELF '{sdk.kernel_elf}': {err}") from None
    else:
        facts = KernelFacts.from_facts(sdk.kernel_facts)
    config = BootConfig(
        arch=target.arch,
        hypervisor=target.hypervisor,
        init_cnode_bits=target.init_cnode_bits,
        tcb_bits=target.object_bits("tcb"),
        vspace_bits=target.object_bits("vspace"),
        page_table_bits=target.object_bits("page_table"),
        page_bits=target.object_bits("small_page"),
        minimum_page_size=target.minimum_page_size,
        arm_pa_size_bits=target.arm_pa_size_bits,
        riscv_pt_levels=target.riscv_pt_levels,
    )
    return config, facts


def read_prefills(system: System, files: SearchPathFiles) -> dict[str, bytes]:
    """The bytes of every prefill file, by memory region name (the analysis found them all; one
    may have gone or changed since)."""
    out = {}
    for mr in system.mr_by_name.values():
        if mr.prefill_path is None:
            continue
        span = span_of(mr.el, "prefill_path")
        path = files.find(mr.prefill_path)
        if path is None:
            raise E.fail(span, "MK-R4", f"unable to find prefill file: '{mr.prefill_path}' on element 'memory_region'")
        try:
            out[mr.name] = read_file(path, PREFILL)
        except FileError as err:
            raise E.fail(
                span,
                "MK-R4",
                f"failed to read file '{mr.prefill_path}' at prefill_path on element 'memory_region': {err}",
            ) from None
    return out


def displaced_regions(product: Product, tool_placed: list) -> list:
    """Tool-placed regions with frames outside this pass's untypeds, when those frames are all that failed."""
    alloc = product.allocation
    if not alloc.outside or alloc.shortfall:
        return []
    owners = product.built.spec.owners
    by_el = {id(mr.el): mr for mr in tool_placed}
    hit = {}
    for i, _, _ in alloc.outside:
        mr = by_el.get(id(owners[i].el)) if owners[i] is not None else None
        if mr is None:
            return []
        hit[mr.name] = mr
    return list(hit.values())


def tool_placed_regions(system: System) -> list:
    """Memory regions without `phys_addr` that a `setvar region_paddr` names, in document order."""
    named = {sv.region_paddr for pd in system.pds for sv in pd.setvars if sv.region_paddr is not None}
    return [mr for mr in system.mr_by_name.values() if mr.phys_addr is None and mr.name in named]


def allocation_error(product: Product, system: System, target: Target) -> BuildError:
    """Why the simulated allocation failed: what was needed, what was free, who needs most."""
    alloc = product.allocation
    spec = product.built.spec
    root = system.root.name_span
    if alloc.outside:
        problems = []
        for i, start, end in alloc.outside:
            owner = spec.owners[i]
            span = owner.el.name_span if owner is not None and owner.el is not None else root
            name = spec.objects[i]["name"]
            problems.append(
                E.problem(
                    span,
                    E.PADDR_OUTSIDE,
                    f"object '{name}', with paddr 0x{start:012x}..0x{end:012x} is not in any valid memory region.",
                )
            )
        return BuildError(problems)
    untypeds = product.plan.boot_info.untypeds
    free = sum(1 << u.size_bits for u in untypeds if not u.is_device)
    needed = 0
    by_owner: dict = {}
    for named, owner in zip(spec.objects, spec.owners, strict=True):
        obj = named["object"]
        if object_paddr(obj) is not None:
            continue
        size = 1 << physical_size_bits(obj, target) if physical_size_bits(obj, target) else 0
        needed += size
        by_owner[owner] = by_owner.get(owner, 0) + size
    shortfalls = "; ".join(
        f"ran out of untypeds for allocating objects of size {human_size(1 << bits)}, still need to create {count} objects "
        f"which requires {human_size(count << bits)} of additional memory"
        for bits, count in sorted(alloc.shortfall.items())
    )
    biggest = sorted(((o, n) for o, n in by_owner.items() if o is not None), key=lambda t: -t[1])[:3]
    message = (
        f"could not allocate all required kernel objects: the system needs {human_size(needed)} ({needed:#x} bytes) of "
        f"kernel objects and memory regions but {human_size(free)} ({free:#x} bytes) of untyped memory is free after the "
        "kernel and the initial task, in blocks that must be aligned to the objects' sizes "
        f"({shortfalls}); biggest consumers: " + ", ".join(f"{o.label} ({human_size(n)})" for o, n in biggest)
    )
    related = tuple(Related(o.el.name_span, f"{o.label} needs {human_size(n)}") for o, n in biggest if o.el is not None)
    return E.fail(root, E.OUT_OF_MEMORY, message, related)


# --------------------------------------------------------------------------- outputs


def output_files(
    product: Product,
    system: System,
    layout: Layout,
    target: Target,
    image_type: str,
    images: ProgramImages,
) -> dict[str, bytes]:
    """Every output by its name in an output folder."""
    if image_type not in IMAGE_TYPES:
        raise E.fail(
            system.root.name_span, E.OUTPUT, f"unknown image type '{image_type}' (one of {', '.join(IMAGE_TYPES)})"
        )
    files: dict[str, bytes] = {
        "capdl.json": dump_json(product.spec_json).encode(),
        "report.txt": render(product.built, product.allocation, target, system, layout).encode(),
    }
    for pd, elf, name in zip(system.pds, product.programs, program_file_names(system), strict=False):
        files[f"elf/{name}"] = _elf_bytes(elf, pd.name, span_of(pd.program_image_el, "path"))
    files["elf/monitor.elf"] = _elf_bytes(product.programs[-1], "the monitor", system.root.name_span)
    initial_task = product.packed.initial_task
    files["initialiser.elf"] = initial_task.to_elf()
    files["loader.img"] = loader_image(product, target, image_type, system.root.name_span, images)
    files.update(x86_kernels(target, system.root.name_span))
    return files


def write_outputs(files: dict[str, bytes], out_dir: str, span) -> list[str]:
    """Write every output into a new directory, then put it in place of `out_dir`."""
    foreign = foreign_entries(out_dir)
    if foreign:
        shown = ", ".join(f"'{name}'" for name in foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise E.fail(
            span,
            E.OUTPUT,
            f"refusing to write the outputs to '{out_dir}': it holds files that no earlier build wrote "
            f"({shown}); name an empty or new folder",
        )
    try:
        _write(files, span, out_dir)
    except _Interrupted:
        raise E.fail(span, E.OUTPUT, "the build was interrupted; the outputs were not written") from None
    return [os.path.join(out_dir, rel) for rel in files]


def human_size_strict(size: int) -> str:
    """upstream `util::human_size_strict`: `4.79 KiB`, `72 KiB`, `2,048 bytes`."""
    for bits, label in ((60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB"), (0, "bytes")):
        base = 1 << bits
        if size > base:
            count, extra = divmod(size, base)
            if extra:
                return f"{size / base:.2f} {label}"
            return f"{count:,} {label}"
    return f"{size} bytes"  # upstream panics on 0 and 1


def summary(product: Product, target: Target, image: bytes) -> list[str]:
    """The lines upstream's `microkit` prints once the image is written."""
    lo, hi = product.packed.initial_task.image_bound
    kind = "BOOT MODULE" if target.arch == "x86_64" else "LOADER"
    return [
        f"MICROKIT|CAPDL SPEC: number of root objects = {len(product.spec_json['objects'])}, "
        f"spec footprint = {human_size_strict(len(product.packed.spec_bytes))}",
        f"MICROKIT|INITIAL TASK: memory size = {human_size_strict(hi - lo)}",
        f"MICROKIT|{kind}: image file size = {human_size_strict(len(image))}",
    ]


def write_named(files: dict[str, bytes], named: Named, span) -> list[str]:
    """Write the outputs microkit writes where its options name them: the image (and on x86_64 the
    kernels beside it), the report, the spec. Each goes to a temporary file in its own folder; all
    are renamed into place only once every one is written, so a failure changes none of them."""
    image_dir = os.path.dirname(os.path.abspath(named.image))
    wanted = {os.path.abspath(named.image): files["loader.img"], os.path.abspath(named.report): files["report.txt"]}
    if named.capdl_json is not None:
        wanted[os.path.abspath(named.capdl_json)] = files["capdl.json"]
    for kernel in ("sel4.elf", "sel4_32.elf"):  # upstream copies them beside the boot module
        if kernel in files:
            wanted[os.path.join(image_dir, kernel)] = files[kernel]
    for path in wanted:
        if os.path.isdir(path):
            raise E.fail(span, E.OUTPUT, f"cannot write '{path}': it is a directory")
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, str]] = []
    try:
        for path, data in wanted.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~umask)  # an ordinary file once renamed (mkstemp makes it private)
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as err:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise E.fail(span, E.OUTPUT, f"cannot write the outputs: {err}") from None
    return list(wanted)


def _write(files: dict[str, bytes], span, out_dir: str) -> None:
    out_dir = os.path.normpath(out_dir)  # 'out/' names the folder 'out', beside which the work folder goes
    with _DeferredSignals() as signals:
        try:
            os.makedirs(os.path.dirname(out_dir) or ".", exist_ok=True)
            recover_outputs(out_dir)
            work = _WorkDir(out_dir)
        except OSError as err:
            raise E.fail(span, E.OUTPUT, f"cannot create the output directory '{out_dir}': {err}") from None
        try:
            new = os.path.join(work.path, "new")
            os.mkdir(new)  # an ordinary directory once renamed into place (the work folder is private)
            for rel, data in files.items():
                signals.check()
                path = os.path.join(new, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(data)
            with open(os.path.join(new, MANIFEST), "w") as fh:
                json.dump({"tool": "sdf-lsp", "files": sorted(files)}, fh, indent=1)
            signals.check()
            _swap(work.path, new, out_dir)
        except OSError as err:
            raise E.fail(span, E.OUTPUT, f"cannot write the outputs to '{out_dir}': {err}") from None
        finally:
            work.remove()  # the partial outputs, or the replaced ones


def x86_kernels(target: Target, span) -> dict[str, bytes]:
    """On x86_64 the kernel is booted beside the boot module: `sel4.elf` (and `sel4_32.elf`) as the SDK has them."""
    kernel = target.sdk.kernel_elf if target.sdk else None
    if target.arch != "x86_64" or kernel is None:
        return {}
    out = {}
    for name in ("sel4.elf", "sel4_32.elf"):
        path = os.path.join(os.path.dirname(kernel), name)
        if os.path.isfile(path):
            try:
                out[name] = read_file(path, ELF)
            except FileError as err:
                raise E.fail(span, E.OUTPUT, f"cannot read the kernel: {err}") from None
    return out


def program_file_names(system: System) -> list[str]:
    """`<pd>.elf` per PD, made safe as a file name and unique (the monitor's is `monitor.elf`)."""
    taken = {"monitor.elf"}
    names = []
    for pd in system.pds:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", pd.name).lstrip(".") or "pd"
        name = f"{stem}.elf"
        if name in taken:
            name = f"{stem}-{system.index(pd)}.elf"
        taken.add(name)
        names.append(name)
    return names


def loader_image(product: Product, target: Target, image_type: str, span, images: ProgramImages) -> bytes:
    """The bootable image: the loader with kernel and initial task (ARM/RISC-V), or on x86_64
    the initialiser as the multiboot boot module."""
    task = product.packed.initial_task
    if target.arch == "x86_64":
        return task.to_elf()
    sdk = target.sdk
    try:
        if sdk.loader_elf:
            loader = LoaderFacts.from_elf(images.load(sdk.loader_elf))
        else:
            loader = LoaderFacts.from_facts(sdk.loader_facts)
        if sdk.kernel_elf:
            kernel = KernelImage.from_elf(images.load(sdk.kernel_elf))
        else:
            kernel = KernelImage.from_facts(sdk.kernel_facts)
        image = build_loader_image(
            target.arch, loader, kernel, task, product.plan.initial_task_phys_base, target.riscv_pt_levels or 3
        )
        if image_type == "binary":
            return image.to_bytes()
        if image_type == "elf":
            return image.to_elf()
        return image.to_uimage(target.arch)
    except (ElfError, LoaderError) as err:
        raise E.fail(span, E.OUTPUT, f"cannot make the loader image: {err}") from None


def _elf_bytes(elf: ElfImage, what: str, span) -> bytes:
    try:
        return elf.to_bytes()
    except ElfError as err:
        raise E.fail(span, E.OUTPUT, f"cannot write the patched image of {what}: {err}") from None


def foreign_entries(out_dir: str) -> list[str]:
    """What in `out_dir` an earlier build did not write (by its manifest): a build may replace only its own outputs.

    A missing or empty folder has none; a path that is not a folder is foreign itself.
    """
    if not os.path.lexists(out_dir):
        return []
    if os.path.islink(out_dir) or not os.path.isdir(out_dir):
        return [os.path.basename(out_dir)]
    try:
        manifest = json.loads(read_file(os.path.join(out_dir, MANIFEST), JSON))
        owned = {MANIFEST, *(str(f) for f in manifest.get("files", ()))}
    except (OSError, ValueError, AttributeError, TypeError):
        owned = set()
    foreign = []
    for root, dirs, names in os.walk(out_dir):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), out_dir).replace(os.sep, "/")
            if rel not in owned:
                foreign.append(rel)
        for d in list(dirs):
            if os.path.islink(os.path.join(root, d)):
                dirs.remove(d)
                foreign.append(os.path.relpath(os.path.join(root, d), out_dir).replace(os.sep, "/"))
    return foreign


# An interrupted build leaves OUTDIR as it was (or, killed between the two renames of the
# swap, missing until the next build puts the old outputs back) and nothing beside it: the
# outputs are written into a work folder beside OUTDIR, `.<name>.XXXXXXXX`, which also
# receives the old outputs during the swap. The work folder holds a marker that its build
# keeps locked; the next build removes work folders whose marker nobody holds. SIGINT and
# SIGTERM wait while the outputs are written (main thread only) and take effect once the
# work folder is gone.
PARTIAL = ".sdf-lsp-partial"


class _WorkDir:
    def __init__(self, out_dir: str):
        self.path = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=os.path.dirname(out_dir) or ".")
        try:
            self.lock = open(os.path.join(self.path, PARTIAL), "w")  # noqa: SIM115 (held until remove())
            if fcntl is not None:
                fcntl.flock(self.lock, fcntl.LOCK_EX)
        except OSError:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def remove(self):
        # the marker goes last, so a build killed while removing is still recognised
        for name in ("new", "old"):
            shutil.rmtree(os.path.join(self.path, name), ignore_errors=True)
        shutil.rmtree(self.path, ignore_errors=True)
        self.lock.close()


def _swap(work: str, new: str, out_dir: str) -> None:
    """Put the complete directory `new` at `out_dir`; what was there goes into `work`."""
    if os.path.lexists(out_dir):
        old = os.path.join(work, "old")
        os.rename(out_dir, old)
        try:
            os.rename(new, out_dir)
        except BaseException:
            os.rename(old, out_dir)
            raise
    else:
        os.rename(new, out_dir)


def recover_outputs(out_dir: str) -> None:
    """Remove the work folders of builds of `out_dir` that were killed; one killed between
    the two renames of its swap gives the old outputs back to `out_dir`."""
    if fcntl is None:
        return
    parent = os.path.dirname(out_dir) or "."
    prefix = f".{os.path.basename(out_dir)}."
    try:
        names = [n for n in os.listdir(parent) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        work = os.path.join(parent, name)
        if os.path.islink(work) or not os.path.isdir(work):
            continue
        try:
            with open(os.path.join(work, PARTIAL), "r+") as marker:
                try:
                    fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its build is still running
                old = os.path.join(work, "old")
                if os.path.isdir(old) and not os.path.lexists(out_dir):
                    os.rename(old, out_dir)
                shutil.rmtree(work, ignore_errors=True)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                os.rmdir(work)  # killed before its marker was written: empty
        except OSError:
            continue


class _DeferredSignals:
    """SIGINT and SIGTERM are held while the outputs are written: `check()` stops the
    writing at a safe point, and on leaving the signal is raised again with the handler
    that was there before. Outside the main thread (the language server's builds) this
    does nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.pending: int | None = None
        self.saved: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                handler = signal.getsignal(sig)
                if handler is not None and handler != signal.SIG_IGN:  # one Python can put back
                    self.saved[sig] = signal.signal(sig, self._hold)
        return self

    def _hold(self, signum, frame):
        self.pending = self.pending or signum

    def check(self):
        if self.pending is not None:
            raise _Interrupted

    def __exit__(self, kind, value, tb):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        if self.pending is not None:
            # the handler from before: KeyboardInterrupt, or the end of the process; one
            # that returns lets `_Interrupted` fail the build
            signal.raise_signal(self.pending)
        return False


class _Interrupted(Exception):
    pass
