"""Shared Click plumbing: output options and the report → output → exit-code contract.

Exit codes: 0 no errors, 1 errors found, 2 usage error.  No command lets a traceback escape: a
``TinyrelError`` becomes one finding (or one line), anything unexpected becomes ``internal/error``.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from tinyrel.cli.output import FORMATS, error_line, render
from tinyrel.findings import Refused, Report, TinyrelError
from tinyrel.hub.errors import scrub


def option_group(*options: Callable[[Any], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator applying several Click options in the order written (shared option sets)."""

    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--quiet", "-q", is_flag=True, help="Print only errors (text format).")(func)
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format."
    )(func)


def emit(report: Report, fmt: str, quiet: bool = False, headline: str | None = None, err: bool = False) -> None:
    """Print the rendered report (to stderr when stdout carries the command's product)."""
    text = render(report, fmt, quiet=quiet, headline=headline)
    if text:
        click.echo(text, err=err)
    sys.exit(0 if report.ok else 1)


@dataclass
class Outcome:
    """A command's result: the library's report, the headline text, and whether stdout carries
    the command's product (so the report goes to stderr)."""

    report: Report
    headline: str | None = None
    stderr: bool = False


def report_command(func: Callable[..., Report | Outcome]) -> Callable[..., None]:
    """Wrap a command body returning a Report or an Outcome: render it, exit with the contract's code."""

    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str = "text", quiet: bool = False, **kwargs: Any) -> None:
        try:
            result = func(*args, **kwargs)
        except Refused as exc:  # the operation ran and said no: every finding, not one line
            scrubbed = Report([dataclasses.replace(f, message=scrub(f.message)) for f in exc.report.findings],
                              exc.report.data)  # fmt: skip
            emit(scrubbed, fmt, quiet, scrub(exc.message))
        except TinyrelError as exc:
            fail(exc, fmt)
        except KeyboardInterrupt as exc:
            exit_interrupted(getattr(exc, "message", "interrupted; nothing half-written was left behind"))
        except RecursionError:
            fail(TinyrelError("input/too-deep", "input is nested too deeply to process"), fmt)
        except OSError as exc:  # the machine's limits (a full disk, a file system's rules), not a bug
            fail(os_error(exc), fmt)
        except Exception as exc:  # noqa: BLE001 - the contract is "never a traceback" (unless asked for)
            show_traceback_if_asked(exc)
            fail(TinyrelError("internal/error", f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"),
                 fmt)  # fmt: skip
        outcome = result if isinstance(result, Outcome) else Outcome(result)
        emit(outcome.report, fmt, quiet, outcome.headline, outcome.stderr)

    return wrapper


def show_traceback_if_asked(exc: BaseException) -> None:
    """``--debug`` / ``TINYREL_DEBUG=1``: an internal error's traceback on stderr (tokens scrubbed),
    so a bug can be reported with where it happened."""
    import traceback

    context = click.get_current_context(silent=True)
    if context is None or not context.find_root().meta.get("tinyrel.debug"):
        return
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    click.echo(scrub(text), err=True)


def exit_interrupted(message: str) -> None:
    """Ctrl-C or SIGTERM: one line, exit 130 at once.  The library has already stopped its
    transfers and removed what it staged; worker threads that huggingface_hub still joins at exit
    (a blob upload in flight) must not hold the process, so it ends without waiting for them."""
    import os

    click.echo(error_line("interrupted", message), err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def os_error(exc: OSError) -> TinyrelError:
    """An operating-system failure as a one-line error: ``io/disk-full`` for a full disk or quota,
    ``io/error`` with the system's own words for the rest."""
    import errno

    where = exc.filename if isinstance(exc.filename, str) else None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TinyrelError("io/disk-full", "no space left on the device (or over quota); free space and re-run: "
                            "nothing half-written was left behind", path=where)  # fmt: skip
    return TinyrelError("io/error", exc.strerror or type(exc).__name__, path=where)


def fail(exc: TinyrelError, fmt: str) -> None:
    message = scrub(exc.message)  # a token must not leak through any format
    finding = dataclasses.replace(exc.as_finding(), message=message)
    if fmt in ("json", "github"):
        click.echo(render(Report([finding]), fmt))
    else:
        click.echo(error_line(exc.code, message, exc.path, exc.line), err=True)
    sys.exit(2 if exc.usage else 1)
