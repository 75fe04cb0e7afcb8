"""The `assess` command line: one Typer app; each sub-command lives in ``assess.commands.<name>``.

Every :class:`~assess.errors.AssessError` becomes a one-line message on stderr and exit code 2,
never a traceback, so analysts see which file, row or key to fix.
"""
from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from . import __version__
from .errors import AssessError

#: Modules under ``assess.commands`` that each define ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = ("profile", "rubrics", "annotate", "run", "import_logs", "predict")

app = typer.Typer(
    name="assess",
    help="Predictive AI evaluation on general scales: demand profiles, ability profiles, assessors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assess {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Predictive AI evaluation on general scales."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.commands.{_name}").register(app)

_stderr = Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except AssessError as err:
        _stderr.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    except OSError as err:  # the filesystem refused a read or write the commands did not foresee
        where = f"{err.filename}: " if err.filename else ""
        _stderr.print(f"[bold red]error:[/] {escape(where + (err.strerror or str(err)))}", highlight=False,
                      soft_wrap=True)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        _stderr.print("aborted")
        return 130
    except Exception as err:  # click usage errors carry their own exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            return err.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
