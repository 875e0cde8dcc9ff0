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


def test_settings_the_user_set_win_over_sdf_lsp_toml(tmp_path, monkeypatch):
    from sdf_lsp.settings import editor_setup

    for name in ("MICROKIT_SDK", "MICROKIT_BOARD", "MICROKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    toml = tmp_path / "sdf-lsp.toml"
    toml.write_text(
        'search-paths = ["elf"]\ndialect = "microkit-2.3"\n[target]\nboard = "odroidc4"\nconfig = "debug"\n'
        '[diagnostics]\nignore = ["MK-W1"]\n[build]\nout-dir = "out"\n'
    )
    # VS Code sends every default: those are not set, and the file decides
    vscode_defaults = {"sdf": {"target": {"file": "", "board": "", "config": "release", "sdk": ""}, "searchPaths": []}}
    s = editor_setup(parse_settings(vscode_defaults), str(tmp_path), str(toml))
    assert (s.target.board, s.target.config, s.dialect) == ("odroidc4", "debug", "microkit-2.3")
    assert s.search_paths == (str(tmp_path / "elf"), str(tmp_path)) and s.out_dir == str(tmp_path / "out")
    assert not s.rules.shown("MK-W1") and s.config is not None and s.config_error is None
    # what the user set wins
    mine = {"sdf": {"target": {"board": "maaxboard"}, "searchPaths": ["img"], "dialect": "extended"}}
    s = editor_setup(parse_settings(mine), str(tmp_path), str(toml))
    assert (s.target.board, s.target.config) == ("maaxboard", "debug")
    assert s.search_paths[0] == str(tmp_path / "img")
    # the environment is between the two
    monkeypatch.setenv("MICROKIT_CONFIG", "benchmark")
    s = editor_setup(parse_settings(vscode_defaults), str(tmp_path), str(toml))
    assert (s.target.board, s.target.config) == ("odroidc4", "benchmark")


def test_a_broken_sdf_lsp_toml_is_reported_and_left_out(tmp_path, monkeypatch):
    from sdf_lsp.settings import editor_setup

    monkeypatch.delenv("MICROKIT_SDK", raising=False)
    toml = tmp_path / "sdf-lsp.toml"
    toml.write_text('[target]\nboard = "kria_k26"\nconfig = "smp-debug"\n')
    s = editor_setup(parse_settings({}), str(tmp_path), str(toml))
    assert s.config is None and s.target.board == "qemu_virt_aarch64"
    assert s.config_error is not None and s.config_error.line == 3 and "smp-debug" in s.config_error.message


def test_workspace_check_is_on_unless_turned_off():
    assert parse_settings({}).workspace_check is True
    assert parse_settings({"sdf": {"workspace": {"check": False}}}).workspace_check is False
    assert parse_settings({"sdf.workspace.check": False}).workspace_check is False
    bad = parse_settings({"sdf": {"workspace": {"check": "no"}}})
    assert bad.workspace_check is True and bad.problems == ("sdf.workspace.check must be true or false, got 'no'",)
