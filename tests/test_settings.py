"""Editor settings: the Microkit SDK from $MICROKIT_SDK when none is configured."""

import pytest

from sdf_lsp.settings import parse_settings
from sdf_lsp.target.listing import list_boards

from .conftest import SHARED

SDK = SHARED / "golden" / "sdk"


@pytest.fixture
def env_sdk(monkeypatch):
    monkeypatch.setenv("MICROKIT_SDK", str(SDK))


def test_environment_sdk_is_used_without_a_configured_one(env_sdk):
    target, problem = parse_settings({}).resolve(None)
    assert problem is None and target.source == "sdk" and target.board == "qemu_virt_aarch64"
    assert target.sdk is not None and target.sdk.board_dir.startswith(str(SDK))
    target, _ = parse_settings({"sdf": {"target": {"config": "debug"}}}).resolve(None)
    assert target.source == "sdk" and target.config == "debug"


def test_environment_sdk_without_the_board_is_ignored(env_sdk):
    target, problem = parse_settings({"sdf": {"target": {"board": "odroidc4"}}}).resolve(None)
    assert problem is None and target.source == "board" and target.board == "odroidc4"


def test_configured_target_wins_over_the_environment(env_sdk, tmp_path):
    f = tmp_path / "t.json"
    f.write_text('{"arch": "riscv64"}')
    target, _ = parse_settings({"sdf": {"target": {"file": str(f)}}}).resolve(None)
    assert target.source == "file" and target.arch == "riscv64"


def test_broken_environment_sdk_falls_back_and_says_why(monkeypatch, tmp_path):
    (tmp_path / "board" / "qemu_virt_aarch64" / "release").mkdir(parents=True)
    monkeypatch.setenv("MICROKIT_SDK", str(tmp_path))
    target, problem = parse_settings({}).resolve(None)
    assert target.source == "default" and problem.startswith("MICROKIT_SDK: ")


def test_board_list_has_the_sdk_first():
    boards = list_boards(SDK)
    assert (boards[0].board, boards[0].source) == ("qemu_virt_aarch64", "sdk")
    assert {b.source for b in boards[1:]} == {"builtin"}
    assert list_boards(SDK / "nowhere")[0].source == "builtin"
