"""The command line: parses arguments and calls the public API. Nothing else lives here.

Exit codes: 0 nothing fails, 1 findings at or above ``--fail-on``, 2 bad input or usage.

On a terminal (or where ``FORCE_COLOR`` / ``TTY_COMPATIBLE=1`` say standard output is one),
``audit`` without ``--format`` and ``--output`` prints a summary (rich tables: per obligation, then
the findings that are not met by unit) instead of the whole Markdown report; ``--format markdown``
prints the report itself. Colour (rich) only where it belongs: that summary, the Markdown report on
a terminal and the warnings on standard error, and never when ``NO_COLOR`` is set
(https://no-color.org). A pipe or a file gets the plain report, byte for byte what ``--output``
writes. A binary format (``xlsx``) is never written to a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import datetime as dt
import importlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO


from . import about, casetests, fmt, lint, schemas
from .documents import FORMATS, CaseRun, CheckResult, document_output, render_document
from .errors import ComplianceError, InputError, NotificationError, PluginError, UsageError
from .evaluate import ENGINES, audit, backend_for, notify_plugins
from .eventfiles import read_events, rejects_jsonl
from .explain import explain
from .findings import EVIDENCE_LIMIT, FAILING, InputFile, Report, StatusCounts
from .loading import load_registry, load_ruleset
from .model import Ruleset
from .outputs import open_atomically, refuse_overwriting, write_atomically
from .plugins import BUILTIN_PLUGIN, Plugins
from .progress import TerminalProgress
from .report import Rendered, header_line, json_chunks, not_met_by_unit, one_line, report_format, unit_label
from .timeframes import day_start, instant_option
from .words import LANGS, Lang, in_lang, period_text, status_text, subject_text, text

if TYPE_CHECKING:  # rich is imported only when there is a terminal to colour
    from rich.console import Console
    from rich.text import Text

#: rejected lines shown on standard error before the rest are counted
MAX_WARNINGS = 20
#: findings that are not met shown in the terminal summary before the rest are counted
MAX_SUMMARY_FINDINGS = 30
#: a plugin's report written to standard output is held in memory up to this size, then on disk
SPOOL_BYTES = 16 * 1024 * 1024


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-08-01, got {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _evidence_limit(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number or all, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    # the plugin options are accepted before and after the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plugin", dest="plugins_after", action="append", default=[], metavar="MODULE",
                        help="import MODULE and register it as a plugin (repeatable)")
    common.add_argument("--no-entry-points", dest="no_entry_points_after", action="store_true",
                        help="do not load installed plugins (entry-point group 'complianceengine')")
    parser = argparse.ArgumentParser(prog="complianceengine", description="Check duty event histories against declarative rulesets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {about.version()}")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE and register it as a plugin (repeatable)")
    parser.add_argument("--no-entry-points", action="store_true", help="do not load installed plugins (entry-point group 'complianceengine')")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("plugins", parents=[common], help="list the loaded plugins and the hooks each implements")

    run = commands.add_parser("audit", parents=[common], help="judge every obligation over a date range and print a report")
    run.add_argument("ruleset", type=Path, nargs="+",
                     help="ruleset YAML file; give several versions of one ruleset (each with `effective` days) to audit across them")
    run.add_argument("--registry", type=Path, required=True, help="registry YAML file (units, people, assignments, subjects)")
    run.add_argument("--events", type=Path, required=True, action="append",
                     help="events file (.jsonl, .csv, .parquet) or a folder of Parquet files; repeat for several")
    run.add_argument("--from", dest="first_day", type=_date, required=True, help="first day of the range (local date)")
    run.add_argument("--to", dest="last_day", type=_date, required=True, help="last day of the range, included (local date)")
    run.add_argument("--as-of", help="the moment of the audit, ISO 8601 (default: now); naive times are in the ruleset's zone")
    run.add_argument("--format", help="report format: markdown (the default; on a terminal a summary is shown unless --format "
                                      "markdown is given), json, csv, html (one self-contained page), xlsx (needs --output or a "
                                      "redirected standard output), or one a plugin adds")
    run.add_argument("--output", type=Path, help="write the report to this file instead of standard output")
    run.add_argument("--lang", choices=list(LANGS), default="en",
                     help="language of the findings' sentences and the report's labels: en (default) or zh")
    run.add_argument("--rejects", type=Path, help="write rejected event lines to this JSONL file")
    run.add_argument("--quiet", action="store_true", help="no warnings on standard error (rejected lines still go to --rejects and the report)")
    run.add_argument("--engine", choices=list(ENGINES), default="auto",
                     help="what reads the events and answers the questions about them: reference (plain Python), duckdb (SQL: "
                          "JSON lines, CSV and Parquet screened in bulk) or auto (default: duckdb for files of 8 MB or 50,000 rows and more, "
                          "and with --threads or --memory-limit; else the reference); the findings are the same")
    run.add_argument("--threads", type=_positive, help="DuckDB's threads: the blocks of a file screened at once while reading, and the threads of the audit's queries "
                     "(with --engine duckdb or auto: DuckDB then)")
    run.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 256MB; it spills to disk beyond it (with --engine duckdb or auto: DuckDB then)")
    run.add_argument("--evidence-limit", type=_evidence_limit, default=EVIDENCE_LIMIT, metavar="N|all",
                     help=f"list at most N evidence ids per finding in the report, with the count of the rest (default {EVIDENCE_LIMIT}; "
                          "all: every id)")
    run.add_argument(
        "--fail-on", choices=["none", *FAILING], default="late",
        help="exit 1 when a finding is at least this severe: open < late < missed (default: late)",
    )

    check = commands.add_parser("check", parents=[common], help="validate and lint rulesets (files, or folders holding ruleset.yaml files)")
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    check.add_argument("--registry", type=Path, help="also check this registry against the ruleset(s)")
    check.add_argument("--format", choices=list(FORMATS["diagnostics"]), default="text",
                       help="text (default), json, sarif (SARIF 2.1.0), github (GitHub Actions annotations) or junit")
    check.add_argument("--resolved", action="store_true", help="print each ruleset as resolved (overlays applied, defaults filled) in YAML")
    check.add_argument("--output", type=Path, help="write the result to this file instead of standard output")
    check.add_argument("--fail-on", choices=["none", "info", "warning", "error"], default="warning",
                       help="exit 1 when a lint diagnostic is at least this severe (default: warning); invalid input always exits 2")

    test = commands.add_parser("test", parents=[common], help="run the test cases beside rulesets (tests/*.yaml) and report rule coverage")
    test.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="test case files, or folders holding tests/ folders")
    test.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    test.add_argument("--require-full-coverage", action="store_true",
                      help="fail unless every obligation has an expectation that it is met and one that it fails")

    fmt_ = commands.add_parser("fmt", parents=[common], help="format ruleset and registry YAML canonically, keeping comments")
    fmt_.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="YAML files, or folders (every *.yaml/*.yml below them)")
    fmt_.add_argument("--check", action="store_true", help="change nothing; list the files that would change and exit 1 if any")

    why = commands.add_parser("explain", parents=[common], help="show how one verdict came about: period, requirement, every event considered")
    why.add_argument("ruleset", type=Path)
    why.add_argument("--registry", type=Path, required=True)
    why.add_argument("--events", type=Path, required=True, action="append")
    why.add_argument("--from", dest="first_day", type=_date, required=True)
    why.add_argument("--to", dest="last_day", type=_date, required=True)
    why.add_argument("--as-of", help="the moment of the audit, ISO 8601 (default: now)")
    why.add_argument("--obligation", required=True, help="obligation id")
    why.add_argument("--subject", required=True, help="person, unit, subject or case id")
    why.add_argument("--period", required=True, help="period label (2026-W38, 2026-08, 2026-08-03, ...) or a date inside it")

    due = commands.add_parser("due", parents=[common], help="one person's or unit's checklist now: due, at risk, overdue, done")
    due.add_argument("ruleset", type=Path)
    due.add_argument("--registry", type=Path, required=True)
    due.add_argument("--events", type=Path, required=True, action="append")
    who = due.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="person id")
    who.add_argument("--unit", help="unit id")
    due.add_argument("--as-of", help="the moment asked about, ISO 8601 (default: now)")
    due.add_argument("--horizon", default="PT6H", help="at risk: due within this ISO 8601 duration (default PT6H)")
    due.add_argument("--engine", choices=["python", "durable"], default="python",
                     help="the matching engine (durable: the complianceengine[durable] extra; same answers)")
    due.add_argument("--format", choices=["markdown", "json"], default="markdown")
    due.add_argument("--lang", choices=list(LANGS), default="en")

    watch = commands.add_parser("watch", parents=[common],
                                help="read events as they come (standard input, or a growing file) and print each finding that "
                                     "becomes missed, late or at risk")
    watch.add_argument("ruleset", type=Path)
    watch.add_argument("--registry", type=Path, required=True)
    watch.add_argument("--events", type=Path, help="a JSON lines file to follow (default: standard input)")
    watch.add_argument("--horizon", default="PT6H", help="at risk: due within this ISO 8601 duration (default PT6H)")
    watch.add_argument("--engine", choices=["python", "durable"], default="python",
                       help="the matching engine (durable: the complianceengine[durable] extra; same answers)")
    watch.add_argument("--format", choices=["text", "json"], default="text")
    watch.add_argument("--batch", type=int, default=500, help="judge after at most this many events (and whenever input pauses)")

    schema = commands.add_parser("schema", parents=[common], help="print the JSON Schema of rulesets (or registries)")
    schema.add_argument("--registry", action="store_true", help="the registry format instead of the ruleset format")
    schema.add_argument("--output", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plugins = _plugins(args)
        if args.command == "plugins":
            for name, hooks in plugins.describe():
                print(f"{name}: {', '.join(hooks) or '(no hooks)'}")
            return 0
        if args.command == "check":
            return _check(args, plugins)
        if args.command == "fmt":
            return _fmt(args)
        if args.command == "explain":
            return _explain(args, plugins)
        if args.command == "test":
            return _test(args, plugins)
        if args.command in ("due", "watch"):
            from .cli_monitor import due, watch

            return (due if args.command == "due" else watch)(args, plugins)
        if args.command == "schema":
            refuse_overwriting({"--output": args.output}, [])
            _write(json.dumps(schemas.schema("registry" if args.registry else "ruleset"), indent=2, ensure_ascii=False) + "\n", args.output)
            return 0
        return _audit(args, plugins)
    except InputError as exc:
        _say("error:", f"{len(exc.problems)} problem(s):")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except ComplianceError as exc:
        _say("error:", str(exc))
        return 2
    except KeyboardInterrupt:  # outputs are written atomically: what was there is intact
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `| head`: stop quietly, as a command killed by SIGPIPE does (128 + 13)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes at exit
        return 141


def _plugins(args: argparse.Namespace) -> Plugins:
    modules = []
    for name in [*args.plugin, *args.plugins_after]:
        if not name.strip():
            raise UsageError("--plugin needs a module name")
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            raise UsageError(f"--plugin {name}: cannot import it ({exc})") from None
        except (Exception, SystemExit) as exc:  # the module itself failed while being imported
            raise UsageError(f"--plugin {name}: importing it failed: {type(exc).__name__}: {exc}") from None
    return Plugins(modules, entry_points=not (args.no_entry_points or args.no_entry_points_after))


def _check(args: argparse.Namespace, plugins: Plugins) -> int:
    checked, diagnostics = lint.check_paths(args.paths, plugins, args.registry)
    if not checked:
        raise UsageError(f"no ruleset.yaml found under {', '.join(map(str, args.paths))}")
    refuse_overwriting({"--output": args.output}, [*checked, *([args.registry] if args.registry else [])])
    if args.resolved and args.format != "text":
        raise UsageError("--resolved prints YAML; use it with --format text")
    if args.resolved:
        for path, ruleset in checked.items():
            if ruleset is not None:
                _write(f"# {path}, resolved\n" + lint.resolved_yaml(ruleset) + "---\n", None)
    threshold: lint.Severity = "error" if args.fail_on == "none" else args.fail_on
    _write(render_document("diagnostics", args.format, CheckResult(checked, diagnostics, threshold)), args.output)
    if any(d.severity == "error" for d in diagnostics):
        return 2
    return 1 if args.fail_on != "none" and lint.at_or_above(diagnostics, args.fail_on) else 0


def _fmt(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if not any(p.is_file() or any(p.rglob("*.y*ml")) for p in args.paths):
        raise UsageError(f"no YAML files under {', '.join(map(str, args.paths))}")
    if args.check:
        changed = fmt.check_files(args.paths)
        for path in changed:
            print(f"would reformat {path}")
        print(f"{len(changed)} file(s) would be reformatted" if changed else "all files are formatted")
        return 1 if changed else 0
    for path in fmt.write_files(args.paths):
        print(f"reformatted {path}")
    return 0


def _explain(args: argparse.Namespace, plugins: Plugins) -> int:
    ruleset = load_ruleset(args.ruleset, plugins)
    registry = load_registry(args.registry, ruleset)
    log = read_events(args.events, ruleset, registry, plugins)
    explanation = explain(ruleset, registry, log, obligation=args.obligation, subject=args.subject, period=args.period,
                          first_day=args.first_day, last_day=args.last_day, as_of=_as_of(args, ruleset), plugins=plugins)
    sys.stdout.write(render_document("explanation", "text", explanation))
    return 0


def _as_of(args: argparse.Namespace, ruleset: Ruleset) -> dt.datetime | None:
    return instant_option(args.as_of, ruleset.timezone) if args.as_of else None


def _test(args: argparse.Namespace, plugins: Plugins) -> int:
    results, coverage = casetests.run_paths(args.paths, plugins)
    if not results:
        raise UsageError(f"no test cases (tests/*.yaml) under {', '.join(map(str, args.paths))}")
    refuse_overwriting({"--junit": args.junit}, [Path(r.file) for r in results])
    run = CaseRun(results, coverage)
    sys.stdout.write(render_document("cases", "text", run))
    if args.junit:
        _write(render_document("cases", "junit", run), args.junit)
    if any(f.startswith("invalid: ") for r in results for f in r.failures):
        return 2
    failed = any(not r.passed for r in results)
    uncovered = args.require_full_coverage and any(c.uncovered for c in coverage)
    return 1 if failed or uncovered else 0


@contextlib.contextmanager
def _writing(output: Path | None = None) -> Iterator[None]:
    """An output file that cannot be written is a usage error (exit 2), not a traceback."""
    try:
        yield
    except BrokenPipeError:
        if output is None or str(output) == "-":
            raise  # the reader of standard output went away (`| head`): main stops quietly
        raise UsageError(f"cannot write {output}: broken pipe") from None
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or output or 'standard output'}: {exc.strerror or exc}") from None


def _write(text: str | Iterable[str], output: Path | None) -> None:
    """Write to ``output``, or to standard output when it is None or ``-``."""
    if output is not None and str(output) == "-":
        output = None
    with _writing():
        if output:
            write_atomically(output, text)
        else:
            sys.stdout.writelines([text] if isinstance(text, str) else text)


#: how each verdict (and each heading) of a Markdown report looks on a terminal
STYLES = {
    "missed": "bold red", "late": "yellow", "open": "cyan", "excused": "magenta", "not_applicable": "dim", "not applicable": "dim",
    "met": "green", "heading": "bold", "error:": "bold red", "warning:": "yellow", "failing": "bold red",
}
_STATUS_CELL = re.compile(r"\| (missed|late|open|excused|not_applicable|met) \|")
_COUNT = re.compile(r"\b[1-9][0-9]* (missed|late|open|excused|not applicable|met)\b")


def _terminal_console(stream: TextIO) -> Console | None:
    """A rich console writing to ``stream`` when it is a terminal (or ``FORCE_COLOR`` /
    ``TTY_COMPATIBLE=1`` say it is one), without colour when ``NO_COLOR`` is set or the terminal
    is dumb; ``None`` means it is not a terminal."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()) and not os.environ.get("FORCE_COLOR") and os.environ.get("TTY_COMPATIBLE") != "1":
        return None  # plain text, without importing rich
    from rich.console import Console

    console = Console(file=stream, highlight=False, markup=False, emoji=False, soft_wrap=True,
                      color_system=None if os.environ.get("NO_COLOR") else "auto")
    return console if console.is_terminal else None


def _colour_console(stream: TextIO) -> Console | None:
    """A rich console writing to ``stream`` when colour belongs there: a terminal (see
    :func:`_terminal_console`), never with ``NO_COLOR``, a dumb terminal or no colour system;
    ``None`` means plain text."""
    if os.environ.get("NO_COLOR"):
        return None
    console = _terminal_console(stream)
    return console if console is not None and console.color_system is not None and not console.no_color else None


def _coloured_markdown(text: str) -> Text:
    """The Markdown report, the same text, with headings bold and verdicts coloured (the status
    cell of each finding row, the non-zero counts of the totals line)."""
    from rich.text import Text

    out = Text()
    for line in text.splitlines(keepends=True):
        at = len(out)
        out.append(line)
        cell = _STATUS_CELL.match(line)
        if line.startswith("#"):
            out.stylize(STYLES["heading"], at, at + len(line.rstrip("\n")))
        elif cell is not None:
            out.stylize(STYLES[cell[1]], at + cell.start(1), at + cell.end(1))
        elif line.startswith("**"):
            for count in _COUNT.finditer(line):
                out.stylize(STYLES[count[1]], at + count.start(), at + count.end())
    return out


def _write_report(report: Report, format: str, output: Path | None, plugins: Plugins, *, summary: bool) -> None:
    """Write the report where ``--output`` says. On a terminal, ``summary`` (no format or output
    asked for) prints the summary instead, and the Markdown report is coloured."""
    to_stdout = output is None or str(output) == "-"
    if to_stdout and summary:
        console = _terminal_console(sys.stdout)
        if console is not None:
            _print_summary(console, report)
            return
    rendered = document_output("report", format, report, plugins)
    if to_stdout and format == "markdown":
        console = _colour_console(sys.stdout)
        if console is not None:
            text = io.StringIO()
            rendered.write(text)
            console.print(_coloured_markdown(text.getvalue()), end="")
            return
    _write_rendered(rendered, None if to_stdout else output)


def _write_rendered(rendered: Rendered, output: Path | None) -> None:
    """Write a rendered report to ``output`` (atomically) or to standard output."""
    with _writing(output):
        if output is not None:
            with open_atomically(output, binary=rendered.binary) as stream:
                rendered.write(stream)
            return
        sys.stdout.flush()
        target = sys.stdout.buffer if rendered.binary else sys.stdout
        if rendered.streamed and rendered.plugin != BUILTIN_PLUGIN:
            # a plugin's format may fail half-way: hold what it writes until it has finished, so
            # that standard output gets its report or the JSON one, never a piece of each
            held = tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+b") if rendered.binary else \
                tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8", newline="")
            with held:
                rendered.write(held)
                held.seek(0)
                shutil.copyfileobj(held, target)
        else:
            rendered.write(target)
        target.flush()


def _sha256(path: Path) -> str:
    """The SHA-256 of a file the audit read (standard input, ``-``, has none: empty); of a folder
    (Parquet files), of each file's path inside it and its SHA-256, in order."""
    if str(path) == "-":
        return ""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(f for f in path.rglob("*") if f.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}\0{_sha256(file)}\n".encode("utf-8"))
        return digest.hexdigest()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts_text(counts: StatusCounts, rate: float | None, weighted: float | None, lang: Lang) -> Text:
    """``706 met, 3 late, ...; rate over all findings 96%, obligation-weighted rate 78%.``, each
    non-zero verdict coloured."""
    from rich.text import Text

    parts = [(counts.met, "met"), (counts.late, "late"), (counts.missed, "missed"), (counts.open, "open"), (counts.excused, "excused"),
             (counts.not_applicable, "not_applicable")]
    out = Text()
    for index, (count, status) in enumerate(parts):
        out.append(("，" if lang == "zh" else ", ") if index else "")
        out.append(f"{status_text(status, lang)} {count}" if lang == "zh" else f"{count} {status_text(status, lang)}", STYLES[status] if count else "")
    semicolon, comma, stop = ("；", "，", "。") if lang == "zh" else ("; ", ", ", ".")
    out.append(f"{semicolon}{text('raw_rate', lang)} {'-' if rate is None else f'{rate:.0%}'}{comma}"
               f"{text('weighted_rate', lang)} {'-' if weighted is None else f'{weighted:.0%}'}{stop}")
    return out


def _print_summary(console: Console, report: Report) -> None:
    """The terminal summary: a table of the obligations with their counts and rates, then the
    findings that are not met by unit (the first :data:`MAX_SUMMARY_FINDINGS`), then where the
    whole report is."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    lang = report.lang
    console.print(Text(one_line(text("title", lang, title=in_lang(report.title, lang))), style=STYLES["heading"]))
    console.print(Text(one_line(
        header_line(report).replace("`", "") + " "
        + text("md_events", lang, used=report.events_used, rejected=len(report.rejects), duplicates=len(report.duplicates)))))
    statuses = ["met", "late", "missed", "open", "excused", "not_applicable"]
    table = Table(box=box.SIMPLE_HEAD, header_style=STYLES["heading"], title=text("by_obligation", lang), title_justify="left",
                  title_style=STYLES["heading"])
    table.add_column(text("obligation", lang))
    table.add_column(text("cited", lang))
    for status in statuses:
        table.add_column("n/a" if status == "not_applicable" and lang == "en" else status_text(status, lang), justify="right")
    table.add_column(text("rate", lang), justify="right")

    def counted(counts: StatusCounts, rate: float | None) -> list[Text]:
        cells = [Text(str(getattr(counts, status)), STYLES[status] if getattr(counts, status) and status != "met" else "")
                 for status in statuses]
        return [*cells, Text("-" if rate is None else f"{rate:.0%}")]

    for o in report.obligations:
        name = o.obligation + (f" ({text('assumed', lang)})" if o.assumed else "")
        table.add_row(Text(one_line(name)), Text(one_line(o.cited)), *counted(o.counts, o.rate))
    table.add_section()
    total = report.counts
    table.add_row(Text(text("all_obligations", lang), STYLES["heading"]), Text(""), *counted(total, total.rate))
    console.print(table)
    console.print(_counts_text(total, total.rate, report.weighted_rate, lang))
    rows = [(group, finding) for group in not_met_by_unit(report) for finding in group.findings]
    if rows:
        table = Table(box=box.SIMPLE_HEAD, header_style=STYLES["heading"], title_justify="left", title_style=STYLES["heading"],
                      title=f"{text('not_met', lang)} ({len(rows)})")
        for header in ("unit", "status", "obligation", "subject", "period", "observed"):
            table.add_column(text(header, lang))
        previous = None
        for group, f in rows[:MAX_SUMMARY_FINDINGS]:
            if previous is not None and group is not previous:
                table.add_section()
            unit = "" if group is previous else unit_label(group.summary) if group.summary else group.unit or text("no_unit", lang)
            previous = group
            table.add_row(Text(one_line(unit)), Text(status_text(f.status, lang), STYLES[f.status]),
                          Text(one_line(f.obligation + (f" / {f.step}" if f.step else ""))), Text(one_line(subject_text(f.subject, report.roles, lang))),
                          Text(one_line(period_text(f.period, report.timezone, lang))), Text(one_line(f.observed)))
        console.print()
        console.print(table)
        if len(rows) > MAX_SUMMARY_FINDINGS:
            console.print(f"... and {len(rows) - MAX_SUMMARY_FINDINGS} more findings that are not met.")
    console.print(Text(
        "The whole report (each unit's list, evidence, exemptions, rejected events): --output FILE writes it as Markdown, "
        "--format markdown|json|csv prints it here, --format xlsx --output FILE makes a workbook; a pipe gets the Markdown report.",
        style="dim"))


def _say(prefix: str, message: str) -> None:
    """A line on standard error: ``prefix`` (``error:``, ``warning:``) coloured on a terminal."""
    console = _colour_console(sys.stderr)
    if console is None:
        print(f"{prefix} {message}", file=sys.stderr)
        return
    from rich.text import Text

    console.print(Text.assemble((prefix, STYLES.get(prefix, "")), " ", message))


def _progress(args: argparse.Namespace) -> TerminalProgress:
    """The audit's progress on standard error: after a second, on a terminal that can redraw a
    line, never with ``--quiet``."""
    return TerminalProgress(None if args.quiet else _progress_console(sys.stderr))


def _progress_console(stream: TextIO) -> Console | None:
    """A console for the progress display on ``stream``: only a real terminal, one that can
    redraw a line (not a dumb one). ``FORCE_COLOR`` and ``TTY_COMPATIBLE``, which colour a pipe,
    do not bring it there: it would fill a log with redrawn lines."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None
    console = _terminal_console(stream)
    return None if console is None or console.is_dumb_terminal else console


def _audit(args: argparse.Namespace, plugins: Plugins) -> int:
    # before anything is read: a report written over its own events would destroy them
    refuse_overwriting({"--output": args.output, "--rejects": args.rejects}, [*args.ruleset, args.registry, *args.events])
    versions = [load_ruleset(path, plugins) for path in args.ruleset]
    versions.sort(key=lambda r: r.effective.from_ if r.effective else dt.date.min)
    ruleset = versions[-1]  # the latest version reads the registry and the events
    if not any(version.obligations for version in versions):
        raise UsageError(f"ruleset {ruleset.id!r} has no obligations (an overlay removed them all?): there is nothing to audit")
    format = args.format or "markdown"
    if report_format(format, plugins).binary and (args.output is None or str(args.output) == "-") and sys.stdout.isatty():
        raise UsageError(f"--format {format} writes a binary file, not text for a terminal: give --output FILE "
                         f"(e.g. --output report.{format}), or redirect standard output to a file")
    to_file = args.output is not None and str(args.output) != "-"
    backend_for(args.engine, threads=args.threads, memory_limit=args.memory_limit, check=True)  # a wrong setting before anything is read
    with _progress(args) as progress:  # gone before anything is printed
        progress("reading the registry", 0, None)
        registry = load_registry(args.registry, ruleset)
        as_of = _as_of(args, ruleset)
        if as_of is not None and as_of < day_start(args.first_day, ruleset.timezone):
            raise UsageError(
                f"--as-of {args.as_of} is before the first day of the range ({args.first_day}): every finding would be open "
                "and the audit would pass; check the dates"
            )
        log = read_events(args.events, ruleset, registry, plugins, progress=progress, engine=args.engine, threads=args.threads,
                          memory_limit=args.memory_limit)
        report = audit(versions, registry, log, first_day=args.first_day, last_day=args.last_day, as_of=as_of, plugins=plugins,
                       notify=False, lang=args.lang, progress=progress, engine=args.engine, threads=args.threads,
                       memory_limit=args.memory_limit)
        report = report.model_copy(update={"evidence_limit": args.evidence_limit, "inputs": tuple(
            InputFile(kind=kind, path=str(path), sha256=_sha256(path))
            for kind, paths in (("ruleset", args.ruleset), ("registry", [args.registry]), ("events", args.events)) for path in paths
        )})
        failed: PluginError | None = None
        if to_file:  # a long write to a file is shown too
            progress(f"writing {args.output.name}", 0, None)
            try:
                _write_report(report, format, args.output, plugins, summary=False)
            except PluginError as exc:
                failed = exc
    try:
        if failed is not None:
            raise failed
        if not to_file:
            _write_report(report, format, args.output, plugins, summary=args.format is None and args.output is None)
    except PluginError:  # a plugin's format failed: keep the finished report, as JSON beside where it was asked for
        kept = args.output.with_name(args.output.name + ".json") if args.output and str(args.output) != "-" else None
        refuse_overwriting({"the JSON report": kept, "--rejects": args.rejects}, [*args.ruleset, args.registry, *args.events])
        _write(json_chunks(report), kept)
        print(f"note: the report was written as JSON {'to ' + str(kept) if kept else 'to standard output'} instead", file=sys.stderr)
        raise
    if args.rejects:
        _write(rejects_jsonl(log.rejects), args.rejects)
    notified: NotificationError | None = None
    try:  # only now: a notifier that hangs or fails cannot cost the report
        notify_plugins(report, plugins)
    except NotificationError as exc:
        notified = exc
    if not args.quiet:
        for reject in log.rejects[:MAX_WARNINGS]:
            _say("warning:", f"rejected event {reject.file}:{reject.line}: {'; '.join(reject.errors)}")
        if len(log.rejects) > MAX_WARNINGS:
            where = f"--rejects {args.rejects}" if args.rejects else "the report; --rejects FILE lists them as JSON lines"
            _say("warning:", f"{len(log.rejects) - MAX_WARNINGS} more rejected event lines (all of them in {where})")
        for warning in report.warnings:
            _say("warning:", warning)
    if notified is not None:
        for failure in notified.failures:
            _say("error:", str(failure))
        return 2
    if args.fail_on == "none":
        return 0
    failing = report.failing(args.fail_on)
    if failing and not args.quiet:
        console = _colour_console(sys.stderr)
        summary = f"{len(failing)} finding(s) at or above '{args.fail_on}'"
        if console is None:
            print(summary, file=sys.stderr)
        else:
            console.print(summary, style=STYLES["failing"])
    # a rejected event is bad input that did not stop the audit; it still fails the run
    return 1 if failing or log.rejects else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
