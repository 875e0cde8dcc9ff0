"""Which dialect a system is checked in: the SDK's VERSION (`--sdk`, `$MICROKIT_SDK`,
`sdf.target.sdk`) unless the user chose one, `extended` on an older SDK as an error, and the
boards each release has. Through `sdf-lsp check` (in this process) and the settings."""

from __future__ import annotations

import json

import pytest

from sdf_lsp import schema
from sdf_lsp.cli import main
from sdf_lsp.settings import Settings, editor_setup, resolve_dialect
from sdf_lsp.target.boards import board_release_problem
from sdf_lsp.target.load import TargetError, builtin_target, load_sdk, sdk_release, version_release

from .conftest import ROOT, SHARED

SDK_22 = ROOT / "tests/fixtures/sdk-2.2"
SDK_23 = SHARED / "golden/sdk"
BOARD = "qemu_virt_aarch64"

# 2.3-only constructs: an older SDK's `microkit` rejects each
DOMAINS_AND_CSPACE = """<system>
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


@pytest.mark.parametrize(
    "text,release",
    [("2.2.0", (2, 2)), ("2.2.0-dev\n", (2, 2)), ("2.3.0-dev", (2, 3)), ("1.4.1", (1, 4)), ("2.10", (2, 10))],
)
def test_version_names_its_release(text, release):
    assert version_release(text) == release


@pytest.mark.parametrize("text", ["", "two", "2", "2.2.0 extra", "v2.2.0"])
def test_not_a_version(text):
    assert version_release(text) is None


def test_sdk_release_from_the_version_file(tmp_path):
    assert sdk_release(SDK_22) == (2, 2)
    assert load_sdk(SDK_22, BOARD).sdk_release == (2, 2)
    assert sdk_release(SDK_23) == (2, 3)
    assert sdk_release(tmp_path) is None  # no VERSION
    (tmp_path / "VERSION").write_text("nonsense")
    warnings: list[str] = []
    assert sdk_release(tmp_path, warnings.append) is None
    assert warnings and "not a Microkit version" in warnings[0]


def test_dialect_resolution():
    assert resolve_dialect(None, None) == (schema.EXTENDED, None)
    assert resolve_dialect(None, (2, 3)) == (schema.EXTENDED, None)
    assert resolve_dialect(None, (2, 4)) == (schema.EXTENDED, None)
    assert resolve_dialect(None, (2, 2)) == ("microkit-2.2", None)
    assert resolve_dialect(None, (1, 3)) == ("microkit-1.4", None)  # older than any dialect: the oldest rules
    assert resolve_dialect("microkit-2.0", (2, 2)) == ("microkit-2.0", None)  # the user's choice stands
    dialect, error = resolve_dialect(schema.EXTENDED, (2, 1), "/sdk")
    assert dialect == "microkit-2.1"
    assert error is not None and "Microkit 2.1" in error and "capDL initialiser" in error and "/sdk" in error


def test_boards_of_each_release():
    assert board_release_problem("rpi5b_2gb", "release", (2, 2)) == (
        "board 'rpi5b_2gb' is not in Microkit 2.2 (it came with Microkit 2.3)"
    )
    assert board_release_problem("rpi5b_2gb", "release", (2, 3)) is None
    assert board_release_problem("qemu_virt_aarch64", "release", (1, 4)) is None
    assert board_release_problem("kria_k26", "release", (2, 1)) is not None
    assert board_release_problem("qemu_virt_riscv64", "smp-release", (2, 0)) is not None
    with pytest.raises(TargetError, match="not in Microkit 2.0"):
        builtin_target("x86_64_generic", "release", (2, 0))


def check(capsys, *argv: str) -> tuple[int, list[dict], str]:
    try:
        status = main(["check", "--format", "json", *argv])
    except SystemExit as stop:  # a command that cannot run exits 2
        status = stop.code
    out = capsys.readouterr()
    return status, json.loads(out.out) if out.out else [], out.err


@pytest.fixture
def sdf(tmp_path):
    p = tmp_path / "doms.system"
    p.write_text(DOMAINS_AND_CSPACE)
    return str(p)


def test_sdk_version_picks_the_release_in_check(capsys, sdf, monkeypatch):
    monkeypatch.delenv("MICROKIT_SDK", raising=False)
    status, diags, _ = check(capsys, "--sdk", str(SDK_22), "--board", BOARD, sdf)
    assert status == 1
    assert [(d["code"], d["message"]) for d in diags] == [
        ("REL001", "invalid XML element 'domains' (Microkit 2.3 and later)"),
        ("REL001", "invalid attribute 'domain' on element 'protection_domain' (Microkit 2.3 and later)"),
        ("REL001", "Invalid XML element 'cspace' (Microkit 2.3 and later)"),
    ]
    # a 2.3 SDK: the default stays extended, and the file is fine
    status, diags, _ = check(capsys, "--sdk", str(SDK_23), "--board", BOARD, sdf)
    assert status == 0 and not [d for d in diags if d["severity"] == "error"]


def test_microkit_sdk_variable_picks_the_release(capsys, sdf, monkeypatch):
    monkeypatch.setenv("MICROKIT_SDK", str(SDK_22))
    status, diags, _ = check(capsys, sdf)
    assert status == 1 and {d["code"] for d in diags} == {"REL001"}
    # the user's choice wins over the SDK's
    status, diags, _ = check(capsys, "--dialect", "microkit-2.3", sdf)
    assert status == 0


def test_extended_on_an_older_sdk_is_an_error(capsys, sdf, monkeypatch):
    monkeypatch.delenv("MICROKIT_SDK", raising=False)
    status, diags, err = check(capsys, "--sdk", str(SDK_22), "--board", BOARD, "--dialect", "extended", sdf)
    assert status == 2 and diags == []
    assert "dialect 'extended' needs a Microkit 2.3 SDK" in err and "microkit-2.2" in err


def test_a_board_the_release_lacks(capsys, sdf):
    status, diags, err = check(capsys, "--board", "rpi5b_2gb", "--dialect", "microkit-2.2", sdf)
    assert status == 2 and diags == []
    assert "board 'rpi5b_2gb' is not in Microkit 2.2 (it came with Microkit 2.3)" in err


def test_settings_follow_the_sdk(monkeypatch):
    monkeypatch.delenv("MICROKIT_SDK", raising=False)

    def dialect(settings: Settings) -> tuple[str, str | None]:
        setup = editor_setup(settings, None, None)
        return setup.dialect, setup.dialect_error

    assert dialect(Settings(target_sdk=str(SDK_22), target_board=BOARD)) == ("microkit-2.2", None)
    chosen, error = dialect(Settings(target_sdk=str(SDK_22), target_board=BOARD, dialect="extended"))
    assert chosen == "microkit-2.2" and error is not None
    monkeypatch.setenv("MICROKIT_SDK", str(SDK_22))
    assert dialect(Settings()) == ("microkit-2.2", None)
    assert dialect(Settings(target_file="t.json")) == (schema.EXTENDED, None)
    setup = editor_setup(Settings(target_board="kria_k26", dialect="microkit-2.1"), None, None)
    assert setup.problem is not None and "kria_k26" in setup.problem and setup.target.board == BOARD
