"""Search paths from the settings reach the features that read files: document links (with
tooltips where the client shows them), definition into a file, and program diagnostics.
Symbol hover, completion and DWARF lines are tested in-process in tests/ide."""

from pathlib import Path

from lsprotocol import types as T

from ..conftest import SHARED
from .conftest import CLIENTS, find, make_fixture, open_text

DATA = Path(__file__).resolve().parents[1] / "image" / "data"
GOLDEN = SHARED / "golden"
SYSTEM = GOLDEN / "systems" / "mr_prefill" / "mr_prefill.system"
TEXT = SYSTEM.read_text()
URI = SYSTEM.as_uri()

SETTINGS = {"sdf": {"searchPaths": [str(GOLDEN / "elf" / "mr_prefill"), str(DATA)]}}
client = make_fixture(SETTINGS)
one_client = make_fixture(SETTINGS, clients=CLIENTS[:1])


async def test_links_and_definition_to_files(client):
    diags = await open_text(client, URI, TEXT)
    assert not [d for d in diags if d.severity <= T.DiagnosticSeverity.Warning]  # every image and symbol found
    links = await client.text_document_document_link_async(
        T.DocumentLinkParams(text_document=T.TextDocumentIdentifier(uri=URI))
    )
    targets = {lk.target for lk in links}
    assert (GOLDEN / "elf" / "mr_prefill" / "mr_prefill.elf").as_uri() in targets
    assert (SYSTEM.parent / "fill.bin").as_uri() in targets
    link = client.capabilities.text_document.document_link
    tooltips = {lk.tooltip for lk in links}
    if link and link.tooltip_support:
        assert str(GOLDEN / "elf" / "mr_prefill" / "mr_prefill.elf") in tooltips
    else:
        assert tooltips == {None}
    res = await client.text_document_definition_async(
        T.DefinitionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(TEXT, 'path="mr_prefill.elf"', delta=8)
        )
    )
    assert res[0].uri == (GOLDEN / "elf" / "mr_prefill" / "mr_prefill.elf").as_uri()


async def test_missing_program_image_is_information(one_client):
    # reported when another image of the system is found (so the search paths are set up)
    other = '<protection_domain name="other"><program_image path="nowhere.elf"/></protection_domain>'
    text = TEXT.replace("</system>", other + "</system>")
    diags = await open_text(one_client, URI, text)
    (d,) = [d for d in diags if d.code == "SDF016"]
    assert d.severity == T.DiagnosticSeverity.Information and "nowhere.elf" in d.message


async def test_xml_document_with_system_root(one_client):
    uri = "file:///tmp/description.xml"
    diags = await open_text(
        one_client, uri, '<?xml version="1.0"?>\n<system><protection_domain name="a"/></system>', language_id="xml"
    )
    assert any(d.code == "MK-P17" for d in diags)
