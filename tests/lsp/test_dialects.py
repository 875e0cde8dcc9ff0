"""The Microkit release a document is checked against, through the language server: picked
from the SDK's VERSION without any dialect setting, `extended` on an older SDK as an error
(a message and a diagnostic), and `sdf.describeTarget` saying the dialect in force."""

from __future__ import annotations

import asyncio

from lsprotocol import types as T

from .conftest import CLIENTS, ROOT, make_fixture, open_text

SDK_22 = str(ROOT / "tests/fixtures/sdk-2.2")
TARGET = {"sdk": SDK_22, "board": "qemu_virt_aarch64"}
URI = "file:///tmp/doms.system"
TEXT = """<system>
    <domains>
        <domain name="d0" />
        <domain_schedule><schedule_entry domain="d0" duration="10 us" /></domain_schedule>
    </domains>
    <protection_domain name="a" domain="d0">
        <program_image path="a.elf" />
        <cspace><cap_tcb pd="a" slot="3" /></cspace>
    </protection_domain>
</system>
"""

sdk_client = make_fixture({"sdf": {"target": TARGET}}, clients=CLIENTS[:1])
extended_client = make_fixture({"sdf": {"target": TARGET, "dialect": "extended"}}, clients=CLIENTS[:1])
plain_client = make_fixture(clients=CLIENTS[:1])


async def describe(client) -> dict:
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )


async def test_an_older_sdk_selects_its_release(sdk_client):
    diags = await open_text(sdk_client, URI, TEXT)
    assert [(d.code, d.message) for d in diags if d.severity == T.DiagnosticSeverity.Error] == [
        ("REL001", "invalid XML element 'domains' (Microkit 2.3 and later)"),
        ("REL001", "invalid attribute 'domain' on element 'protection_domain' (Microkit 2.3 and later)"),
        ("REL001", "Invalid XML element 'cspace' (Microkit 2.3 and later)"),
    ]
    t = await describe(sdk_client)
    assert t["dialect"] == "microkit-2.2" and t["source"] == "sdk"


async def test_extended_on_an_older_sdk_is_a_message_and_a_diagnostic(extended_client):
    for _ in range(50):  # shown once the client is initialised
        if extended_client.messages:
            break
        await asyncio.sleep(0.1)
    shown = [m for m in extended_client.messages if m.type == T.MessageType.Error]
    assert shown and "dialect 'extended' needs a Microkit 2.3 SDK" in shown[0].message
    diags = await open_text(extended_client, URI, TEXT)
    rel3 = [d for d in diags if d.code == "REL003"]
    assert len(rel3) == 1 and rel3[0].severity == T.DiagnosticSeverity.Error
    assert rel3[0].range.start == T.Position(line=0, character=1)  # the root element's name
    assert (await describe(extended_client))["dialect"] == "microkit-2.2"  # checked as the SDK's release meanwhile


async def test_settings_change_to_a_release(plain_client):
    diags = await open_text(plain_client, URI, TEXT)
    assert not [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
    assert (await describe(plain_client))["dialect"] == "extended"
    plain_client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"dialect": "microkit-1.4"}})
    )
    for _ in range(50):
        await plain_client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if any(d.code == "REL001" for d in plain_client.diagnostics[URI]):
            break
    messages = {d.message for d in plain_client.diagnostics[URI]}
    assert "Invalid XML element 'domains' (Microkit 2.3 and later)" in messages
    assert (await describe(plain_client))["dialect"] == "microkit-1.4"
