"""Every failure of every command as one line on stderr and an exit code.

The root group (:class:`ReportingGroup`) is the one place that turns
exceptions into output, so no command can forget to:

- click's own errors (bad usage, an unreadable ``--output`` file) become one
  line ``error: <message> (see '<command> --help')``, exit code 2 for usage
  (click's own code for anything else); ``--help`` and a bare group still
  print their help;
- :class:`~komet_async.errors.ValidationError` exits 2, every other
  :class:`~komet_async.errors.KometError` 1;
- :class:`CommandError` (a command's own words for a failure, such as a
  port in use) and any other ``OSError`` exit 1;
- anything else is a bug: one line naming its type, exit 1;
- Ctrl-C exits 130 with ``error: interrupted`` (commands that stop on Ctrl-C
  by design, like ``sandbox``, catch it themselves);
- a broken pipe (``komet-async customers list | head``) is left to click,
  which exits quietly.

With ``--debug`` the traceback comes first. Everything printed passes the
redactor, which knows the token given to the command and ``KOMET_TOKEN``.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import traceback
from typing import IO, Any, Final, NoReturn

import click

from .._redact import Redactor
from ..errors import KometError, ValidationError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CommandError",
    "ReportingGroup",
    "debug_option",
    "describe_os_error",
    "fail",
    "remember_token",
]

EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
#: 128 + SIGINT, what shells report for a command stopped by Ctrl-C.
EXIT_INTERRUPTED: Final = 130

#: ``Context.meta`` keys (``meta`` is shared by a context and its children).
_DEBUG: Final = "komet_async.debug"
_TOKEN: Final = "komet_async.token"  # noqa: S105 - a key name


class CommandError(Exception):
    """A failure a command explains in its own words; exit code 1 unless told otherwise."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _remember_debug(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_DEBUG] = True
    return value


#: ``--debug`` for any command: the failure's (redacted) traceback before its line.
debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    callback=_remember_debug,
    help="Show the (redacted) traceback of an error.",
)


def remember_token(ctx: click.Context, _: click.Parameter, value: str | None) -> str | None:
    """Option callback: note the token so that nothing printed on failure carries it."""
    if value:
        ctx.meta[_TOKEN] = value
    return value


def _redactor(ctx: click.Context | None) -> Redactor:
    token = ctx.meta.get(_TOKEN) if ctx is not None else None
    return Redactor.of(token, os.environ.get("KOMET_TOKEN"))


def describe_os_error(exc: OSError) -> str:
    """An ``OSError`` in words: ``Address already in use``, not ``[Errno 98] error while ...``."""
    if isinstance(exc, socket.gaierror) or not isinstance(exc.errno, int) or exc.errno <= 0:
        reason = exc.strerror or str(exc) or type(exc).__name__
    else:
        reason = os.strerror(exc.errno)
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{reason}: {' -> '.join(names)}" if names else reason


def _describe(exc: Exception) -> tuple[str, int]:
    """The one line and the exit code for ``exc``."""
    if isinstance(exc, CommandError):
        return str(exc), exc.exit_code
    if isinstance(exc, KometError):
        return str(exc), EXIT_USAGE if isinstance(exc, ValidationError) else EXIT_FAILURE
    if isinstance(exc, OSError):
        return describe_os_error(exc), EXIT_FAILURE
    detail = str(exc)
    name = type(exc).__qualname__
    return (f"unexpected {name}: {detail}" if detail else f"unexpected {name}"), EXIT_FAILURE


#: click 8.2+ reports a group run without a command as this usage error, whose
#: text is the group's help: shown as it is (click 8.1 prints the help and exits 0).
_NO_ARGS_IS_HELP: tuple[type[click.ClickException], ...] = tuple(
    kind
    for kind in (getattr(click.exceptions, "NoArgsIsHelpError", None),)
    if isinstance(kind, type) and issubclass(kind, click.ClickException)
)


def _is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE


class _OneLine(click.ClickException):
    """A click error shown as one line (click's own show prints usage, a hint and the error)."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line on stderr."""
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class _OneLineUsage(_OneLine):
    """A usage error shown as one line; exit code 2 as click gives usage errors."""

    exit_code = EXIT_USAGE


def _one_line(exc: click.ClickException, redactor: Redactor) -> click.ClickException:
    if isinstance(exc, (_OneLine, *_NO_ARGS_IS_HELP)):
        return exc  # already one line, or help asked for by giving no arguments
    message = redactor.text(exc.format_message())
    if not isinstance(exc, click.UsageError):
        return _OneLine(message)  # such as an --output file that cannot be opened
    path = exc.ctx.command_path if exc.ctx is not None else ""
    return _OneLineUsage(f"{message} (see '{path} --help')" if path else f"{message} (see --help)")


class ReportingGroup(click.Group):
    """The root group: parses and runs a command, and reports whatever fails as one line."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the root options; a usage error is one line."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            ctx = exc.ctx if isinstance(exc, click.UsageError) else None
            raise _one_line(exc, _redactor(ctx)) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; every failure becomes one line and an exit code."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort):
            raise  # --help, --version, ctx.exit(): not failures
        except click.ClickException as exc:
            raise _one_line(exc, _redactor(ctx)) from None
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except Exception as exc:
            if _is_broken_pipe(exc):
                raise  # click silences a closed stdout itself
            _report(exc, ctx)


def _report(exc: Exception, ctx: click.Context) -> NoReturn:
    redactor = _redactor(ctx)
    debug = bool(ctx.meta.get(_DEBUG))
    if debug:
        click.echo(redactor.text("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)
    message, code = _describe(exc)
    known = isinstance(exc, (CommandError, KometError, OSError))
    if not known and not debug:
        message += " (--debug shows the traceback)"
    fail(redactor.text(message), code)
