"""Features that read program images: symbol hover and completion, links, definition into
the source via DWARF, and missing images as information."""

from pathlib import Path

from lsprotocol import types as T

from ..conftest import SHARED
from .conftest import find, make_fixture, open_text

DATA = Path(__file__).resolve().parents[1] / "image" / "data"
GOLDEN = SHARED / "golden"
SYSTEM = GOLDEN / "systems" / "mr_prefill" / "mr_prefill.system"
TEXT = SYSTEM.read_text()
URI = SYSTEM.as_uri()

client = make_fixture({"sdf": {"searchPaths": [str(GOLDEN / "elf" / "mr_prefill"), str(DATA)]}})


async def test_symbol_hover_and_completion(client):
    diags = await open_text(client, URI, TEXT)
    assert not [d for d in diags if d.severity <= T.DiagnosticSeverity.Warning]
    h = await client.text_document_hover_async(
        T.HoverParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(TEXT, 'setvar_vaddr="filled_mr"', delta=16)
        )
    )
    assert "symbol `filled_mr` in `mr_prefill.elf`: address 0x" in h.contents.value and "8 bytes" in h.contents.value
    items = await client.text_document_completion_async(
        T.CompletionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(TEXT, 'setvar_vaddr="filled_mr"', delta=15)
        )
    )
    labels = {i.label for i in items.items}
    assert {"filled_mr", "filled_mr_data_size", "microkit_irqs"} <= labels
    items = await client.text_document_completion_async(
        T.CompletionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(TEXT, 'path="mr_prefill.elf"', delta=6)
        )
    )
    assert "mr_prefill.elf" in {i.label for i in items.items}


async def test_links_and_definition_to_files(client):
    await open_text(client, URI, TEXT)
    links = await client.text_document_document_link_async(
        T.DocumentLinkParams(text_document=T.TextDocumentIdentifier(uri=URI))
    )
    targets = {lk.target for lk in links}
    assert (GOLDEN / "elf" / "mr_prefill" / "mr_prefill.elf").as_uri() in targets
    assert (SYSTEM.parent / "fill.bin").as_uri() in targets
    res = await client.text_document_definition_async(
        T.DefinitionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(TEXT, 'path="mr_prefill.elf"', delta=8)
        )
    )
    assert res[0].uri == (GOLDEN / "elf" / "mr_prefill" / "mr_prefill.elf").as_uri()


async def test_setvar_symbol_to_source_line(client):
    text = (
        '<system><memory_region name="m" size="0x1000"/><protection_domain name="p">'
        '<program_image path="dwarf_sample.elf"/>\n<map mr="m" vaddr="0x1000000" setvar_vaddr="buffer_vaddr"/>'
        "</protection_domain></system>"
    )
    uri = (DATA / "sample.system").as_uri()
    await open_text(client, uri, text)
    res = await client.text_document_definition_async(
        T.DefinitionParams(
            text_document=T.TextDocumentIdentifier(uri=uri), position=find(text, '"buffer_vaddr"', delta=3)
        )
    )
    assert res and res[0].uri.endswith("dwarf_sample.c") and res[0].range.start.line == 0


async def test_missing_program_image_is_information(client):
    # reported when another image of the system is found (so the search paths are set up)
    other = '<protection_domain name="other"><program_image path="nowhere.elf"/></protection_domain>'
    text = TEXT.replace("</system>", other + "</system>")
    diags = await open_text(client, URI, text)
    (d,) = [d for d in diags if d.code == "SDF016"]
    assert d.severity == T.DiagnosticSeverity.Information and "nowhere.elf" in d.message


async def test_xml_document_with_system_root(client):
    uri = "file:///tmp/description.xml"
    diags = await open_text(
        client, uri, '<?xml version="1.0"?>\n<system><protection_domain name="a"/></system>', language_id="xml"
    )
    assert any(d.code == "MK-P17" for d in diags)
