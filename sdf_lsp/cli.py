"""Command line: `sdf-lsp check | serve | build | graph`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from sdf_lsp import __version__, schema
from sdf_lsp.diagnostics import ERROR, SEVERITY_NAMES

USAGE_ERROR = 2


def _target_args(p: argparse.ArgumentParser):
    g = p.add_argument_group("target")
    g.add_argument("--target", metavar="FILE", help="kernel target JSON file")
    g.add_argument("--board", help="board name (built-in table, or inside --sdk)")
    g.add_argument("--config", help="release (default), debug, benchmark, smp-release, smp-debug, smp-benchmark")
    g.add_argument("--sdk", metavar="DIR", help="Microkit SDK directory (needs --board)")
    p.add_argument(
        "--search-path",
        action="append",
        default=[],
        metavar="DIR",
        help="where program images and prefill files are found (repeatable)",
    )
    p.add_argument(
        "--dialect",
        choices=schema.DIALECTS,
        default=schema.EXTENDED,
        help="extended (default) or microkit-2.3 (every extension is an error)",
    )
    p.add_argument(
        "--no-authority-hints", action="store_true", help="leave out the information diagnostics on authority"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sdf-lsp", description="Checker, language server and image backend for seL4 Microkit SDF files."
    )
    p.add_argument("--version", action="version", version=f"sdf-lsp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="check SDF files and print every diagnostic")
    _target_args(c)
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument(
        "-v", "--verbose", action="store_true", help="text format: also print information and hint diagnostics"
    )
    c.add_argument("files", nargs="+", metavar="FILE")

    s = sub.add_parser("serve", help="run the language server (stdio)")
    s.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    s.add_argument("--log-file", help="write the server log here")

    b = sub.add_parser("build", help="build the system: capDL spec, report, patched images and the bootable image")
    _target_args(b)
    b.add_argument("system", metavar="SYSTEM")
    b.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    b.add_argument("--image-type", choices=("binary", "elf", "uimage"), help="loader image format (default per arch)")
    b.add_argument("--initial-task-size", type=int, help=argparse.SUPPRESS)

    g = sub.add_parser("graph", help="draw the system: authority graph or memory view")
    _target_args(g)
    g.add_argument("system", metavar="SYSTEM")
    g.add_argument("--view", choices=("authority", "memory"), default="authority")
    g.add_argument("--format", choices=("svg", "dot", "png"), default=None)
    g.add_argument("-o", "--output", required=True, metavar="FILE")
    return p


def resolve_target_from_args(args):
    from sdf_lsp.target.load import TargetError, resolve_target

    def warn(msg: str):
        print(f"warning: {msg}", file=sys.stderr)

    try:
        return resolve_target(target_file=args.target, sdk=args.sdk, board=args.board, config=args.config, warn=warn)
    except TargetError as err:
        print(f"sdf-lsp: {err}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None


def _search_paths(args, file: str) -> list[str]:
    """Relative search paths from the working directory, then the FILE's directory."""
    return [os.path.abspath(p) for p in args.search_path] + [os.path.dirname(os.path.abspath(file))]


def check_file(path: str, ctx, search_paths: list[str]):
    """(text or None, analysis or None, read error or None)."""
    from sdf_lsp.analysis import analyse
    from sdf_lsp.files import SearchPathFiles, read_sdf

    try:
        text, enc = read_sdf(path)
    except OSError as err:
        return None, None, f"cannot read '{path}': {err.strerror or err}"
    from sdf_lsp.ide.env import Environment
    from sdf_lsp.ide.env_checks import program_diagnostics

    analysis = analyse(text, ctx, SearchPathFiles(search_paths), encoding_error=enc)
    extra = program_diagnostics(analysis, Environment(search_paths))
    if extra:
        analysis.diagnostics = sorted(analysis.diagnostics + extra, key=lambda d: (d.span.start, d.span.end))
    return text, analysis, None


def diagnostic_json(file: str, analysis, d) -> dict:
    lines = analysis.lines

    def rng(span):
        sl, sc = lines.position(span.start)
        el, ec = lines.position(span.end)
        return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}

    out = {
        "file": file,
        "range": rng(d.span),
        "severity": SEVERITY_NAMES[d.severity],
        "code": d.code,
        "message": d.message,
    }
    if d.related:
        out["related"] = [
            {"file": file, "range": rng(r.span), "message": r.message} for r in d.related if r.span is not None
        ]
    return out


def diagnostic_text(file: str, analysis, d) -> list[str]:
    """`file:line:col: severity: message [code]` with the Microkit tool's line:column (1-based,
    columns in characters), then one `note:` line per related place."""

    def at(span) -> str:
        line, col = analysis.lines.microkit_location(span.start)
        return f"{file}:{line}:{col}"

    out = [f"{at(d.span)}: {SEVERITY_NAMES[d.severity]}: {d.message} [{d.code}]"]
    out += [f"    {at(r.span)}: note: {r.message}" for r in d.related if r.span is not None]
    return out


def cmd_check(args) -> int:
    from sdf_lsp.model.lower import Context

    target = resolve_target_from_args(args)
    ctx = Context(target, args.dialect, not args.no_authority_hints)
    results = []
    texts: list[tuple[str, list[str]]] = []  # (severity, lines) in the same order
    any_error = False
    for file in args.files:
        text, analysis, err = check_file(file, ctx, _search_paths(args, file))
        if err is not None:
            any_error = True
            results.append(
                {
                    "file": file,
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                    "severity": "error",
                    "code": "IO001",
                    "message": err,
                }
            )
            texts.append(("error", [f"{file}:1:1: error: {err} [IO001]"]))
            continue
        for d in analysis.diagnostics:
            if d.severity == ERROR:
                any_error = True
            if args.format == "json":
                results.append(diagnostic_json(file, analysis, d))
            else:
                texts.append((SEVERITY_NAMES[d.severity], diagnostic_text(file, analysis, d)))
    if args.format == "json":
        json.dump(results, sys.stdout, indent=None)
        sys.stdout.write("\n")
    else:
        shown = [lines for severity, lines in texts if args.verbose or severity in ("error", "warning")]
        for lines in shown:
            print("\n".join(lines))
        hidden = len(texts) - len(shown)
        note = f"; {hidden} information diagnostic{'s' if hidden != 1 else ''} not shown (--verbose)" if hidden else ""
        if not shown:
            print(f"{', '.join(args.files)}: no problems ({target.label}){note}", file=sys.stderr)
        elif note:
            print(note[2:], file=sys.stderr)
    return 1 if any_error else 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `sdf-lsp check ... | head`
        sys.stderr.close()
        return 0


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from sdf_lsp.server import run

        return run(tcp=args.tcp, log_file=args.log_file)
    import gc

    collecting = gc.isenabled()
    gc.disable()  # a one-shot run: the cyclic collector would only re-scan the trees being built
    try:
        return _run(args)
    finally:
        if collecting:
            gc.enable()


def _run(args) -> int:
    if args.command == "check":
        return cmd_check(args)
    if args.command == "build":
        from sdf_lsp.backend.cli import cmd_build

        return cmd_build(args)
    if args.command == "graph":
        from sdf_lsp.graph.cli import cmd_graph

        return cmd_graph(args)
    return USAGE_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
