"""`sdf-lsp.toml`: finding, reading, validating, and the layers that choose the target."""

from __future__ import annotations

import pytest

from sdf_lsp.config import (
    ChoiceError,
    ConfigError,
    Layer,
    choose_target,
    config_for,
    environment_layer,
    load_config,
    resolve_choice,
)
from sdf_lsp.diagnostics import ERROR
from tests.conftest import SHARED

SDK = SHARED / "golden" / "sdk"


def write(tmp_path, text: str, name: str = "sdf-lsp.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_found_by_walking_up(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert config_for(str(tmp_path / "a" / "b" / "x.system")) is None or not str(
        config_for(str(tmp_path / "a" / "b" / "x.system"))
    ).startswith(str(tmp_path))
    hidden = write(tmp_path, "", ".sdf-lsp.toml")
    assert config_for(str(tmp_path / "a" / "b" / "x.system")) == str(hidden)
    near = write(tmp_path / "a", "")
    assert config_for(str(tmp_path / "a" / "b" / "x.system")) == str(near)
    both = write(tmp_path, "")  # beside .sdf-lsp.toml, sdf-lsp.toml is the one read
    assert config_for(str(tmp_path / "x.system")) == str(both)


def test_every_key(tmp_path):
    (tmp_path / "t.json").write_text('{"arch": "riscv64"}')
    c = load_config(
        str(
            write(
                tmp_path,
                'dialect = "microkit-2.3"\nsearch-paths = ["build", "/abs"]\n'
                '[target]\nboard = "odroidc4"\nconfig = "debug"\n'
                '[diagnostics]\nselect = ["MK-"]\nignore = ["MK-W1"]\n[diagnostics.severity]\n"MK-R7" = "warning"\n'
                '[build]\nout-dir = "out"\n'
                "[format]\nindent = 2\nwidth = 120\n",
            )
        )
    )
    assert (c.format_indent, c.format_width) == (2, 120)
    assert (c.board, c.config, c.dialect) == ("odroidc4", "debug", "microkit-2.3")
    assert c.search_paths == (str(tmp_path / "build"), "/abs")
    assert c.out_dir == str(tmp_path / "out")
    assert c.rules.shown("MK-R7") and not c.rules.shown("MK-W1") and not c.rules.shown("UT001")
    assert c.rules.severity_of("MK-R7", ERROR) == 2


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[target\nboard = 1", 1, "not valid TOML"),
        ("[target]\nbord = 'x'\n", 2, "unknown key 'bord' in [target]"),
        ("colour = 1\n", 1, "unknown key 'colour' at the top level"),
        ("[target]\nboard = 3\n", 2, "[target] board must be a non-empty string, got 3"),
        ("search-paths = [1]\n", 1, "'search-paths' must be an array of strings"),
        ("dialect = 'x'\n", 1, "'dialect' must be one of"),
        ("[diagnostics]\nignore = ['ZZ1']\n", 2, "unknown diagnostic code 'ZZ1'"),
        ("[diagnostics.severity]\nMK-W1 = 'loud'\n", 2, "must be one of error, warning, information, hint"),
        ("\n[target]\nboard = 'no_such_board'\n", 3, "unknown board 'no_such_board'"),
        ("[target]\nsdk = 'nowhere'\nboard = 'x'\n", 2, "Microkit SDK directory"),
        ("target = 'x'\n", 1, "'target' must be a table"),
        ("[format]\nindent = 0\n", 2, "[format] indent must be a whole number from 1 to 16, got 0"),
        ("[format]\nindent = 'tabs'\n", 2, '[format] indent must be a number of spaces or "tab"'),
        ("[format]\n\nwidth = true\n", 3, "[format] width must be a whole number from 20 to 1000, got true"),
        ("[format]\ncolumns = 80\n", 2, "unknown key 'columns' in [format]"),
    ],
)
def test_a_broken_file_is_one_error_at_its_line(tmp_path, monkeypatch, text, line, words):
    monkeypatch.delenv("MICROKIT_SDK", raising=False)
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(str(p))
    assert words in err.value.message
    assert err.value.line == line and err.value.path == str(p)
    assert str(err.value).startswith(f"{p}:{line}:")


def test_format_indent_may_be_a_tab(tmp_path):
    c = load_config(str(write(tmp_path, '[format]\nindent = "tab"\n')))
    assert (c.format_indent, c.format_width) == ("tab", None)


def test_a_board_of_the_sdk(tmp_path):
    c = load_config(str(write(tmp_path, f'[target]\nsdk = "{SDK}"\nboard = "qemu_virt_aarch64"\nconfig = "debug"\n')))
    assert c.sdk == str(SDK)
    with pytest.raises(ConfigError, match="is not in the SDK"):
        load_config(str(write(tmp_path, f'[target]\nsdk = "{SDK}"\nboard = "odroidc4"\n')))
    with pytest.raises(ConfigError, match="has no config 'smp-debug'"):
        load_config(
            str(write(tmp_path, f'[target]\nsdk = "{SDK}"\nboard = "qemu_virt_aarch64"\nconfig = "smp-debug"\n'))
        )


def test_layers_choose_each_part_from_the_highest():
    cli = Layer("the command line", board="maaxboard")
    env = environment_layer({"MICROKIT_BOARD": "odroidc4", "MICROKIT_CONFIG": "debug"})
    file = Layer("/p/sdf-lsp.toml", board="zcu102", config="benchmark")
    c = choose_target([cli, env, file])
    assert (c.board, c.config) == ("maaxboard", "debug")
    assert c.origins == {"board": "the command line", "config": "MICROKIT_CONFIG"}
    c = choose_target([Layer("the command line"), env, file])
    assert (c.board, c.config, c.origins["board"]) == ("odroidc4", "debug", "MICROKIT_BOARD")
    c = choose_target([Layer("the command line"), environment_layer({}), file])
    assert (c.board, c.config) == ("zcu102", "benchmark")
    assert resolve_choice(c).label.startswith("zcu102")


def test_a_target_file_gives_way_to_a_board_named_above_it(tmp_path):
    file = Layer("/p/sdf-lsp.toml", file=str(tmp_path / "t.json"))
    c = choose_target([Layer("the command line", board="odroidc4"), environment_layer({}), file])
    assert c.file is None and c.board == "odroidc4" and c.notes
    c = choose_target([Layer("the command line"), environment_layer({}), file])
    assert c.file == str(tmp_path / "t.json")


def test_the_environment_sdk_is_used_when_it_has_the_board():
    env = environment_layer({"MICROKIT_SDK": str(SDK)})
    c = choose_target([Layer("the command line"), env])
    assert (c.sdk, c.board) == (str(SDK), "qemu_virt_aarch64")
    assert resolve_choice(c).source == "sdk"
    c = choose_target([Layer("the command line", board="odroidc4"), env])
    assert c.sdk is None and "MICROKIT_SDK" in c.notes[0]


def test_a_failure_names_the_layer_of_the_part_that_failed():
    c = choose_target([Layer("the command line", config="smp-debug"), Layer("/p/sdf-lsp.toml", board="kria_k26")])
    with pytest.raises(ChoiceError) as err:
        resolve_choice(c)
    assert (err.value.origin, err.value.key) == ("the command line", "config")
    c = choose_target([Layer("the command line"), Layer("/p/sdf-lsp.toml", board="nope")])
    with pytest.raises(ChoiceError) as err:
        resolve_choice(c)
    assert (err.value.origin, err.value.key) == ("/p/sdf-lsp.toml", "board")
