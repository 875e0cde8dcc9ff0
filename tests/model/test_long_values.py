"""A user's value a lowering message quotes is shortened: a 5,000,000-digit number or a
100,000-character name makes a message of a few hundred characters, not megabytes."""

from __future__ import annotations

import pytest

from sdf_lsp import schema
from sdf_lsp.diagnostics import QUOTE_LIMIT
from sdf_lsp.model.lower import Context, lower_item
from sdf_lsp.syntax.scanner import parse
from sdf_lsp.target.boards import board_target

NUMBER = "1" * 5_000_000
NAME = "n" * 100_000
# the longest message the lowering makes around a quoted value
LONGEST = 400


def system() -> str:
    n, v = NAME, NUMBER
    return (
        "<system>"
        f'<protection_domain name="{n}" priority="{v}" budget="{v}" fault_id="{v}" {n}="1">'
        f'<map mr="m" vaddr="{v}" setvar_vaddr="{n}" setvar_size="{n}"/><irq irq="{v}" id="{v}"/><{n}/>'
        f'<cspace size_bits="99"><cap_{n} slot="1"/><{n}/><cap_notification pd="p" slot="{v}" badge="{v}" rights="{n}"/></cspace>'
        f'<virtual_machine name="{n}"><vcpu id="0"/><vcpu id="0"/><{n}/></virtual_machine>'
        "</protection_domain>"
        f'<memory_region name="{n}" size="{v}" prefill_bootinfo="{n}"/>'
        f'<channel><end pd="{n}" id="{v}"/><{n}/></channel>'
        f'<io_address_space name="{n}" peripheral_id="{n}"><{n}/></io_address_space>'
        f'<domains><domain name="{n}"/><domain name="{n}"/><{n}/><domain_schedule start_index="{v}">'
        f'<schedule_entry domain="{n}" duration="{n}"/><schedule_entry domain="x" duration="{v} {n}"/><{n}/>'
        "</domain_schedule></domains>"
        f'<untyped name="{n}" size="3"/><cnode name="{n}" size_bits="{v}"/><cnode name="{n}" size_bits="99"/><{n}/>'
        "</system>"
    )


@pytest.mark.parametrize("dialect", schema.DIALECTS)
def test_lowering_messages_quote_long_values_shortened(dialect):
    target = board_target("x86_64_generic_vtx")
    ctx = Context(target, dialect)
    doc = parse(system())
    messages = []
    for b in doc.items:
        if b.item is not None and b.item.kind == "element":
            messages += [d.message for d in lower_item(b.item, ctx)[2]]
    assert len(messages) > 20
    assert max(len(m) for m in messages) < LONGEST, max(messages, key=len)[:200]
    # the values are quoted, by their head and tail
    head = (QUOTE_LIMIT - 20) // 2
    assert any("1" * head + "…[" in m for m in messages)
    assert any("n" * head + "…[" in m for m in messages)
