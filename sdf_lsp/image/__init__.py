"""Image backend: from a capDL spec to the initial task and the bootable image.

* `transform` — the tool's spec to the initialiser's spec plus frame data;
* `rkyv` — the rkyv archive of that spec (and a decoder);
* `initialiser` — the spec and frame data appended to the capDL initialiser;
* `boot` — the kernel boot emulation (initial task placement, untypeds);
* `loader` — the loader image for ARM and RISC-V.
"""
