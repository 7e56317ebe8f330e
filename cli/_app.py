"""The Typer app: every verb registered under the error policy.

Errors a user can fix (ctrnn's own errors, a ``ValueError`` from an argument check, a file that cannot be found,
read or written) are one line ``error: ...`` on stderr and exit code 2; Ctrl-C prints ``interrupted`` and exits
with 130. Anything else is a bug in ctrnn: its traceback is shown, after a line asking to report it.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli import cycles, discretize, fixed_points, gradients, info, lyapunov, report, run, simulate, sweep, train
from cli._options import FLAG
from cli._run_folder import close_all

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
BUG_LINE = "ctrnn hit an internal error; please report it with the traceback below"

app = typer.Typer(help="ctrnn: recurrent networks as dynamical systems dx/dt = f(x, u(t), W).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _print_version(value: bool) -> None:
    if value:
        info.version()
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", metavar=FLAG, is_eager=True, callback=_print_version,
                                          help="Print the versions of ctrnn, torch and torchdiffeq and exit.")] = False,
) -> None:
    """Simulate, discretize and analyse continuous-time recurrent networks. `ctrnn VERB --keys` lists the config
    keys a verb takes (for --set and --config) with their defaults."""


def user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one a user can fix from its message (see the module's docstring)."""
    import ctrnn

    if isinstance(exc, (ctrnn.ConfigError, ctrnn.SolverError, ctrnn.NoCycleError, ValueError)):
        return True
    missing = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return isinstance(exc, missing) or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)


def one_line(exc: BaseException) -> str:
    """The first line of the message; an OS error names its file, as the shell does."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def guarded(verb: Callable[..., Any]) -> Callable[..., Any]:
    """``verb`` under the error policy."""

    @functools.wraps(verb)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failed = True
        try:
            result = verb(*args, **kwargs)
            failed = False
            return result
        except typer.Exit as done:
            failed = done.exit_code != 0
            raise
        except (typer.Abort, typer.TyperException):
            raise  # typer's own exits and usage errors (its Exit is a RuntimeError)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # `ctrnn tasks | head`: the reader has gone, as for any Unix tool, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as exc:
            if not user_error(exc):
                typer.echo(BUG_LINE, err=True)
                raise
            typer.echo(f"error: {one_line(exc)}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        finally:  # the output folder's lock released; a run that wrote no result leaves nothing behind
            close_all(failed)

    return wrapper


VERBS = {"models": info.models, "version": info.version, "simulate": simulate.simulate,
         "discretize": discretize.discretize, "fixed-points": fixed_points.fixed_points, "cycles": cycles.cycles,
         "lyapunov": lyapunov.lyapunov, "gradients": gradients.gradients, "sweep": sweep.sweep,
         "report": report.report, "run": run.run, "train": train.train, "tasks": train.tasks}
for _name, _verb in VERBS.items():
    app.command(_name)(guarded(_verb))


def main() -> None:
    """The ``ctrnn`` console script."""
    app()
