"""The schema table, the XSD generated from it, and the corpus."""

import json

import pytest
from lxml import etree

from sdf_lsp import schema, xsd

from .conftest import ROOT, SHARED

SCHEMAS = ROOT / "schemas"


def load(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def parse(path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def test_committed_xsd_is_generated_from_the_table():
    for name, text in xsd.files().items():
        assert (SCHEMAS / name).read_text() == text, f"schemas/{name} is stale: run python -m sdf_lsp.xsd"


def _accepted(suite: str):
    data = json.loads((SHARED / suite / "expected.json").read_text())
    base = SHARED / suite
    for case in data:
        if case.get("expect", case.get("result")) != "ok":
            continue
        for sub in ("sdf", "cases", ""):
            p = base / sub / case["file"]
            if p.exists():
                yield p, case["config"]
                break


ACCEPTED = [
    p
    for s in ("corpus/real", "corpus/microkit-examples", "corpus/generated", "conformance/upstream-tests")
    for p in _accepted(s)
]


@pytest.mark.parametrize("path,config", ACCEPTED, ids=lambda v: getattr(v, "name", v))
def test_accepted_files_validate(path, config):
    arch = "x86_64" if config.startswith("x86") else ("riscv64" if config.startswith("riscv") else "aarch64")
    for name in ("sdf.xsd", "sdf-microkit-2.3.xsd", f"sdf-{arch}.xsd"):
        s = load(name)
        assert s.validate(parse(path)), (name, [str(e) for e in s.error_log][:3])


REJECT_MARKERS = (
    "invalid attribute",
    "invalid XML element",
    "Invalid XML element",
    "Cap type",
    "Missing required attribute",
)
CONDITIONAL = {"pd_missing_irq.system", "domain_no_pd_domain.system"}  # need context XSD cannot express


def _rejected():
    data = json.loads((SHARED / "conformance/upstream-tests/expected.json").read_text())
    for case in data:
        msg = case.get("message_prefix") or ""
        if case["file"] in CONDITIONAL or not any(m in msg for m in REJECT_MARKERS):
            continue
        yield case["file"], case["config"]


@pytest.mark.parametrize("name,config", list(_rejected()))
def test_invalid_element_and_attribute_cases_do_not_validate(name, config):
    arch = "x86_64" if config.startswith("x86") else ("riscv64" if config.startswith("riscv") else "aarch64")
    path = SHARED / "conformance/upstream-tests/sdf" / name
    assert not load(f"sdf-{arch}.xsd").validate(parse(path))


def test_extension_constructs_only_in_the_extended_schema():
    doc = etree.fromstring(
        b'<system><untyped name="u" size_bits="20"/><protection_domain name="a"><program_image path="a"/>'
        b'<cspace size_bits="7"><cap_untyped slot="1" untyped="u"/><reserve count="4" setvar_slot="r"/></cspace>'
        b"</protection_domain></system>"
    )
    assert load("sdf.xsd").validate(doc)
    assert not load("sdf-microkit-2.3.xsd").validate(doc)


def test_table_is_consistent():
    for e in schema.ELEMENTS:
        for c in e.children:
            assert e.name in schema.BY_NAME[c].parents, (e.name, c)
        for p in e.parents:
            assert e.name in schema.BY_NAME[p].children, (p, e.name)
        for a in e.attrs:
            assert a.doc and a.type, (e.name, a.name)
        assert e.doc


def test_readme_lists_every_code():
    from sdf_lsp.codes import CODES, markdown

    readme = (ROOT / "README.md").read_text()
    start, end = readme.index("<!-- codes:start -->"), readme.index("<!-- codes:end -->")
    assert readme[start:end].strip().endswith(markdown().strip()), (
        "README's code table is stale: python -m sdf_lsp.codes"
    )
    used = set()
    import re

    for path in (ROOT / "sdf_lsp").rglob("*.py"):
        used |= set(re.findall(r'"((?:MK-[A-Z0-9]+)|(?:SDF|XML|IO|CS|FH|UT|UH|CN|EX|BLD)[0-9]{3})"', path.read_text()))
    assert used <= set(CODES), sorted(used - set(CODES))


def _release_cases(release: str, want_ok: bool):
    data = json.loads((SHARED / f"conformance/upstream-tests/expected-{release}.json").read_text())
    for case in data:
        msg = case.get("message_prefix") or ""
        if (
            case["expect"] == "ok"
            and want_ok
            or (
                case["expect"] == "error"
                and not want_ok
                and not case["config"].startswith("x86")  # the release schemas hold every arch
                and case["file"] not in CONDITIONAL
                and any(m in msg for m in REJECT_MARKERS)
            )
        ):
            yield release, case["file"], case["config"]


RELEASES = ("1.4", "2.0", "2.1", "2.2")


@pytest.mark.parametrize("release,name,config", [c for r in RELEASES for c in _release_cases(r, True)])
def test_each_releases_accepted_cases_validate_against_its_schema(release, name, config):
    s = load(f"sdf-microkit-{release}.xsd")
    assert s.validate(parse(SHARED / "conformance/upstream-tests/sdf" / name)), [str(e) for e in s.error_log][:3]


@pytest.mark.parametrize("release,name,config", [c for r in RELEASES for c in _release_cases(r, False)])
def test_each_releases_rejected_names_do_not_validate_against_its_schema(release, name, config):
    assert not load(f"sdf-microkit-{release}.xsd").validate(parse(SHARED / "conformance/upstream-tests/sdf" / name))


def test_release_schemas_differ_where_the_releases_do():
    doc = etree.fromstring(
        b'<system><memory_region name="m" size="0x1000"/><protection_domain name="a" cpu="0">'
        b'<program_image path="a"/><map mr="m" vaddr="0x400000" setvar_size="s"/></protection_domain></system>'
    )
    assert load("sdf-microkit-2.1.xsd").validate(doc)
    assert not load("sdf-microkit-2.0.xsd").validate(doc)  # no `cpu` before 2.1
    no_size = etree.fromstring(
        b'<system><memory_region name="m" prefill_path="f"/><protection_domain name="a">'
        b'<program_image path="a"/></protection_domain></system>'
    )
    assert load("sdf-microkit-2.2.xsd").validate(no_size)
    assert not load("sdf-microkit-2.1.xsd").validate(no_size)  # `size` required, no `prefill_path`
