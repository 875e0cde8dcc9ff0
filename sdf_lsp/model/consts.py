"""Numbers the Microkit tool fixes (upstream `sdf/consts.rs` and `capdl/` constants), in one place.

The model may import this module; the layout, the checks and the build read the same names.
"""

from __future__ import annotations

#: Protection domains a system may have, and the largest child id (the monitor's badge bands).
MAX_PDS = 63
PD_MAX_ID = 61
#: Largest vCPU id; channel, IRQ and I/O port ids have the child id's range too.
VCPU_MAX_ID = PD_MAX_ID
#: Highest priority a PD or VM may have (255 is the monitor's).
PD_MAX_PRIORITY = 254
MONITOR_PRIORITY = 255
#: Largest value of a `u8` field (a core number, a VM's priority): upstream truncates or crashes above it.
U8_MAX = 0xFF

#: A PD's stack size: between these, in whole small pages.
PD_MIN_STACK_SIZE = 0x1000
#: A PD's stack size when it gives none: 0x2000 from Microkit 2.1 on, 0x1000 before.
PD_DEFAULT_STACK_SIZE_BEFORE_2_1 = 0x1000
PD_MAX_STACK_SIZE = 0x1000000

#: Highest x86 IRQ vector a PD may use.
X86_IRQ_VECTOR_MAX = 107

#: Page sizes.
SMALL_PAGE = 0x1000
SMALL_PAGE_BITS = 12
LARGE_PAGE = 0x200000

#: Bits of a machine word (a CPtr, a badge).
WORD_BITS = 64

#: CNodes: the Microkit CNode (slot 0 of the root CNode) and Microkit 2.3's root CNode.
MICROKIT_CNODE_BITS = 9
MICROKIT_ROOT_BITS = 6
SLOT_BITS = 5  # log2 of a capability slot's size in bytes
#: log2 of a scheduling context's size in bytes (the tool's fixed choice).
SCHED_CONTEXT_BITS = 8

#: Slots of the Microkit CNode (upstream `consts.rs`).
INPUT_CAP = 1
FAULT_EP_CAP = 2
VSPACE_CAP = 3
REPLY_CAP = 4
MONITOR_EP_CAP = 5
TCB_CAP = 6
SMC_CAP = 7
BASE_OUTPUT_NOTIFICATION_CAP = 10
BASE_OUTPUT_ENDPOINT_CAP = 74
BASE_IRQ_CAP = 138
BASE_PD_TCB_CAP = 202
BASE_VM_TCB_CAP = 266
BASE_VCPU_CAP = 330
BASE_IOPORT_CAP = 394

#: Badges: a fault from a child (ORed with its id), a protected procedure call (ORed with the channel id).
FAULT_BADGE = 1 << 62
PPC_BADGE = 1 << 63

#: The extension's slot limit for `<cspace>` caps in the microkit-2.3 dialect (upstream's cap maps).
CAP_MAP_MAX_SLOT = 128
#: I/O virtual addresses an IOMMU mapping may use.
IOVA_LIMIT = 1 << 39
