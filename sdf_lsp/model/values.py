"""Value grammars of the SDF, exactly as the Microkit tool parses them (reference §1.4)."""

from __future__ import annotations

U64_MAX = (1 << 64) - 1


class SdfValueError(ValueError):
    """Carries the Rust `ParseIntError` text upstream prints."""


EMPTY = "cannot parse integer from empty string"
INVALID = "invalid digit found in string"
TOO_LARGE = "number too large to fit in target type"
TOO_SMALL = "number too small to fit in target type"

_HEX = "0123456789abcdefABCDEF"


def sdf_number(s: str) -> int:
    """`sdf_parse_number`: `_` removed anywhere, lowercase `0x` prefix for hex, u64."""
    t = s.replace("_", "")
    radix = 10
    if t.startswith("0x"):
        radix = 16
        t = t[2:]
    if t == "":
        raise SdfValueError(EMPTY)
    if t in ("+", "-"):
        raise SdfValueError(INVALID)
    if t[0] == "+":
        t = t[1:]
    digits = _HEX if radix == 16 else "0123456789"
    v = 0
    for c in t:
        if c not in digits:
            raise SdfValueError(INVALID)
        v = v * radix + int(c, 16)
        if v > U64_MAX:
            raise SdfValueError(TOO_LARGE)
    return v


def rust_int(s: str, signed: bool = True, bits: int = 64) -> int:
    """Rust `str::parse::<i64|u64>()`: plain decimal, one optional sign."""
    t = s
    neg = False
    if t[:1] in ("+", "-"):
        if t[0] == "-":
            if not signed:
                raise SdfValueError(INVALID)
            neg = True
        t = t[1:]
        if t == "":
            raise SdfValueError(INVALID)
    if t == "":
        raise SdfValueError(EMPTY)
    v = 0
    limit = (1 << (bits - 1)) if signed else (1 << bits) - 1
    for c in t:
        if not ("0" <= c <= "9"):
            raise SdfValueError(INVALID)
        v = v * 10 + (ord(c) - 48)
        if neg and v > limit:
            raise SdfValueError(TOO_SMALL)
        if not neg and v > (limit - 1 if signed else limit):
            raise SdfValueError(TOO_LARGE)
    return -v if neg else v


def parse_bool(s: str) -> bool | None:
    if s == "true":
        return True
    if s == "false":
        return False
    return None


def _rust_i64_radix16(s: str) -> int:
    """Rust `i64::from_str_radix(s, 16)`."""
    t = s
    neg = False
    if t[:1] in ("+", "-"):
        neg = t[0] == "-"
        t = t[1:]
    if t == "" or any(c not in _HEX for c in t):
        raise SdfValueError(INVALID)
    v = -int(t, 16) if neg else int(t, 16)
    if v > (1 << 63) - 1:
        raise SdfValueError(TOO_LARGE)
    if v < -(1 << 63):
        raise SdfValueError(TOO_SMALL)
    return v


def split_pci_before_2_3(s: str) -> list[int]:
    """How Microkit 2.1 and 2.2 read an MSI `pcidev`: split at every `:` and `.`, each part
    trimmed and read as a signed hex number (SdfValueError: a part that is not, where they
    crash). The caller checks the count and the signs."""
    return [_rust_i64_radix16(part.strip()) for part in s.replace(".", ":").split(":")]


def parse_pci(s: str) -> tuple[int, int, int]:
    """`PciDevice::from_str`: `bus:device.function`, each trimmed hex; upstream's error texts."""
    if ":" not in s:
        raise SdfValueError("expected PCI address in bus:device.function form")
    bus_s, rest = s.split(":", 1)
    if "." not in rest:
        raise SdfValueError("expected PCI address in bus:device.function form")
    dev_s, fn_s = rest.split(".", 1)
    parts = []
    for what, txt in (("bus", bus_s), ("device", dev_s), ("function", fn_s)):
        try:
            parts.append(_rust_i64_radix16(txt.strip()))
        except SdfValueError:
            raise SdfValueError(f"failed to parse PCI {what}") from None
    bus, dev, fn = parts
    if not 0 <= bus <= 255:
        raise SdfValueError("PCI bus must be within [0..255]")
    if not 0 <= dev <= 31:
        raise SdfValueError("PCI device must be within [0..31]")
    if not 0 <= fn <= 7:
        raise SdfValueError("PCI function must be within [0..7]")
    return bus, dev, fn


def pci_display(pci: tuple[int, int, int]) -> str:
    return f"{pci[0]:02x}:{pci[1]:02x}.{pci[2]:x}"


def human_size(n: int) -> str:
    """1.5 GiB, 4 KiB, 12 B."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            v = n / (1 << shift)
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} B"
