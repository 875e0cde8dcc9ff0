"""From the tool's capDL spec to the initialiser's spec and frame data.

Upstream `capdl/packaging.rs` runs rust-sel4's `Spec::embed_fill` over the
spec the builder made (`capdl.json` form: frame fills refer to ELF segment
bytes or carry prefill bytes), then drops object names outside debug
configurations, caches the original cap slots and sets the log level.  The
result is `SpecForInitializer` (the `spec.initializer.json` form) plus the
frame-data blob holding the embedded pages.

Rules reproduced here:

* a frame is embedded (`Embedded {index}`, its 4 KiB page appended to the
  frame data) when it is a root object, has no `paddr`, is one granule in
  size, has fill entries and none of them is a bootinfo entry; the page is
  zero except for the fill entries;
* any other frame keeps its fill entries, each data entry becoming
  `DeflatedBytes` (raw deflate of the entry's bytes), bootinfo entries kept;
* `cached_orig_cap_slots`: every object but `ArmSmc` and embedded frames takes
  the next original-cap slot.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

#: LogLevel::Info of the initialiser (upstream `capdl/initialiser.rs`).
LOG_LEVEL_INFO = 3
#: Configurations that keep object names in the spec.
DEBUG_CONFIGS = ("debug", "smp-debug")
GRANULE_BITS = 12

#: Bytes of one fill's data, given its `Data` content dict
#: (`{"ElfContent": {...}}` or `{"BytesContent": {"bytes": [...]}}`).
ContentSource = Callable[[dict], bytes]


class TransformError(ValueError):
    """The spec refers to data that is not there."""


def deflate_raw(data: bytes) -> bytes:
    """Raw deflate (no zlib header), as miniz_oxide's output is; bytes differ from miniz."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def inflate_raw(data: bytes) -> bytes:
    return zlib.decompress(bytes(data), -15)


def elf_content_source(segments: Sequence[Sequence[bytes]]) -> ContentSource:
    """A content source over ELF segment memory images indexed [elf_id][seg_idx].

    `segments[elf_id][seg_idx]` must be the segment's memory image (file data
    padded to `p_memsz`, after symbol patching), as upstream slices it.
    """

    def source(content: dict) -> bytes:
        if "BytesContent" in content:
            return bytes(content["BytesContent"]["bytes"])
        ref = content["ElfContent"]
        try:
            seg = segments[ref["elf_id"]][ref["elf_seg_idx"]]
        except (IndexError, KeyError):
            raise TransformError(f"fill refers to missing ELF segment {ref}") from None
        rng = ref["elf_seg_data_range"]
        if rng["end"] > len(seg):
            raise TransformError(f"fill range {rng} is beyond ELF segment {ref['elf_id']}/{ref['elf_seg_idx']}")
        return bytes(seg[rng["start"] : rng["end"]])

    return source


def transform_spec(
    spec: dict,
    content: ContentSource | Sequence[Sequence[bytes]],
    config: str,
    deflate: Callable[[bytes], bytes] = deflate_raw,
    granule_bits: int = GRANULE_BITS,
) -> tuple[dict, bytes]:
    """(SpecForInitializer as a dict, frame data) for `spec` (capdl.json form).

    `content` is either a `ContentSource` or the ELF segment memory images
    (see `elf_content_source`).  `config` is the build configuration name
    ("debug", "release", ...).  `deflate` compresses non-embedded fill data.
    """
    source = content if callable(content) else elf_content_source(content)
    root = range(spec["root_objects"]["start"], spec["root_objects"]["end"])
    keep_names = config in DEBUG_CONFIGS
    pages: list[bytes] = []
    objects = []
    for obj_id, named in enumerate(spec["objects"]):
        obj = named["object"]
        frame = obj.get("Frame") if type(obj) is dict else None
        if frame is not None:
            entries = frame["init"]["entries"]
            obj = {
                "Frame": {
                    "size_bits": frame["size_bits"],
                    "paddr": frame["paddr"],
                    "init": _frame_init(frame, obj_id in root, granule_bits, source, deflate, pages)
                    if entries
                    else {"Fill": {"entries": []}},  # most frames: nothing to fill
                }
            }
        objects.append({"name": named["name"] if keep_names else None, "object": obj})

    out = dict(spec)
    out["objects"] = objects
    out["cached_orig_cap_slots"] = _orig_cap_slots(objects)
    out["log_level"] = LOG_LEVEL_INFO
    return out, b"".join(pages)


def _frame_init(frame, is_root, granule_bits, source, deflate, pages) -> dict:
    entries = frame["init"]["entries"]
    embeddable = (
        is_root
        and frame["paddr"] is None
        and frame["size_bits"] == granule_bits
        and entries
        and not any("BootInfo" in e["content"] for e in entries)
    )
    if embeddable:
        page = bytearray(1 << granule_bits)
        for e in entries:
            start, end = e["range"]["start"], e["range"]["end"]
            data = source(e["content"]["Data"])
            if len(data) != end - start:
                raise TransformError(f"fill data is {len(data)} bytes for range {start}..{end}")
            page[start:end] = data
        pages.append(bytes(page))
        return {"Embedded": {"index": len(pages) - 1}}
    filled = []
    for e in entries:
        if "BootInfo" in e["content"]:
            filled.append(e)
            continue
        data = source(e["content"]["Data"])
        filled.append(
            {"range": e["range"], "content": {"Data": {"DeflatedBytes": {"deflated_bytes": list(deflate(data))}}}}
        )
    return {"Fill": {"entries": filled}}


def _orig_cap_slots(objects: list[dict]) -> dict:
    offsets: list[int | None] = []
    n = 0
    for named in objects:
        obj = named["object"]
        frame = obj.get("Frame") if type(obj) is dict else None
        embedded = frame is not None and "Embedded" in frame["init"]
        if obj == "ArmSmc" or embedded:
            offsets.append(None)
        else:
            offsets.append(n)
            n += 1
    return {"num_occupied": n, "offsets_by_object": offsets}
