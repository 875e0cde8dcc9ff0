"""`sdf-lsp graph`: formats, exit codes, and DOT without Graphviz."""

from __future__ import annotations

import sys

import pytest

from sdf_lsp.cli import main
from sdf_lsp.graph import GraphError, GraphvizMissing, render, to_dot
from tests.graph.svg import EXAMPLES, analyse_text, parse_svg, require_graphviz
from tests.graph.test_authority import EXTENDED

HIERARCHY = str(EXAMPLES / "hierarchy__hierarchy.system")
TARGET = ["--target", str(EXAMPLES / "targets" / "aarch64.json")]


@pytest.fixture
def no_graphviz(monkeypatch):
    """Neither the Python binding nor the `dot` program."""
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setenv("PATH", "")


def test_svg_from_the_output_suffix(tmp_path, capsys):
    require_graphviz()
    out = tmp_path / "h.svg"
    assert main(["graph", *TARGET, HIERARCHY, "-o", str(out)]) == 0
    svg = parse_svg(out.read_bytes())
    assert {"pd:hello", "pd:restarter"} <= svg.nodes.keys()
    assert "wrote authority view" in capsys.readouterr().err


def test_png_and_memory_view(tmp_path):
    require_graphviz()
    out = tmp_path / "m.png"
    assert main(["graph", HIERARCHY, "--view", "memory", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    forced = tmp_path / "m.out"
    assert main(["graph", HIERARCHY, "--view", "memory", "--format", "svg", "-o", str(forced)]) == 0
    assert b"<svg" in forced.read_bytes()


def test_dot_needs_no_graphviz(tmp_path, no_graphviz):
    out = tmp_path / "x.dot"
    assert main(["graph", HIERARCHY, "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("digraph sdf {") and 'id="pd:hello"' in text
    assert 'id="fault:client"' in to_dot(analyse_text(EXTENDED.replace('name="worker"', 'name="client"')))
    with pytest.raises(GraphvizMissing, match="graphviz"):
        render("digraph {}")


def test_missing_dot_program(tmp_path, monkeypatch, capsys):
    require_graphviz()
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizMissing, match=r"`dot` program.*apt install graphviz.*brew install graphviz"):
        render("digraph {}")
    assert main(["graph", HIERARCHY, "-o", str(tmp_path / "x.svg")]) == 2
    assert "--format dot" in capsys.readouterr().err


def test_unusable_input(tmp_path, capsys):
    broken = tmp_path / "broken.system"
    broken.write_text('<protection_domain name="a" />')
    assert main(["graph", str(broken), "-o", str(tmp_path / "b.dot")]) == 1
    assert "nothing to draw" in capsys.readouterr().err
    assert main(["graph", str(tmp_path / "absent.system"), "-o", str(tmp_path / "b.dot")]) == 1
    assert main(["graph", HIERARCHY, "-o", str(tmp_path / "no" / "dir.dot")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["graph", HIERARCHY, "--target", str(tmp_path / "absent.json"), "-o", str(tmp_path / "b.dot")])
    assert exit_.value.code == 2
    with pytest.raises(GraphError):
        to_dot(analyse_text("not XML"))
    with pytest.raises(ValueError):
        to_dot(analyse_text("<system/>"), "floorplan")
