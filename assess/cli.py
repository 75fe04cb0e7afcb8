"""The `assess` command line: one Typer app whose sub-commands load lazily from ``assess.commands.<module>``.

`assess --help` lists every command from :data:`COMMANDS` without importing any command module
(so neither pandas, scipy, matplotlib nor torch); a command's module is imported only when that
command is invoked or its own help is asked for.

Every usage error (missing argument, unknown command or option, bad option value) prints the usage
line and a message and exits 2; every :class:`~assess.errors.AssessError` becomes a one-line message
on stderr and exit code 2 — never a traceback.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import AssessError

#: Command name → (module under ``assess.commands`` that defines it in ``register(app)``, one-line help).
#: The help is what `assess --help` shows before the module is loaded; a test checks that it matches.
COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("profile", "Fit each subject's characteristic curves and write abilities, plots and an HTML report."),
    "info": ("info", "Describe a battery: benchmarks, tasks, annotation coverage, subjects."),
    "rubrics": ("rubrics", "Validate the rubrics and list every scale, or show one scale's rubric in full."),
    "annotate": ("annotate", "Annotate BATTERY (CSV/Parquet/JSONL in battery layout) with demand levels from an "
                             "LLM annotator."),
    "agreement": ("annotate", "Compare batteries annotated by different annotators and aggregate them to final "
                              "levels."),
    "run": ("run", "Generate (or reuse cached) outputs, score them, and write outcomes plus their settings."),
    "import": ("import_logs", "Import per-instance outcomes from lm-evaluation-harness, Inspect AI or wide "
                              "matrices."),
    "fit": ("predict", "Fit an assessor on a subject's outcomes (or every subject's, for multisubject) and save it."),
    "predict": ("predict", "Success probabilities of a subject on new instances."),
    "evaluate": ("predict", "Run the evaluation protocols and write the per-subject table, the summary and "
                            "calibration plots."),
    "demands": ("demands", "Demand profiles per benchmark, task or source: level distributions, sensitivity, "
                           "specificity."),
    "next-items": ("next_items", "Propose the next k most informative items for a subject (greedy D-optimal at its "
                                 "current estimate)."),
    "battery": ("battery", "Build batteries: generated puzzles or benchmark downloads."),
    "distill": ("distill", "Distil the annotations of BATTERY into a fast offline annotator (no LLM calls)."),
}


class _Placeholder(TyperCommand):
    """A command not loaded yet: enough for the command list of `assess --help`."""


class LazyGroup(TyperGroup):
    """A Typer group that imports a command's module only when the command is resolved."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, short_help) in COMMANDS.items():
            self.commands.setdefault(name, _Placeholder(name, help=short_help, short_help=short_help))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """Load the command about to run (or show its help), then resolve it as Typer does."""
        if args and isinstance(self.commands.get(args[0]), _Placeholder):
            self.load(args[0])
        return super().resolve_command(ctx, args)

    def load(self, name: str) -> Any:
        """Import the module of command ``name`` and replace the placeholders of every command it defines."""
        module = importlib.import_module(f"{__package__}.commands.{COMMANDS[name][0]}")
        holder = typer.Typer()
        module.register(holder)
        for defined, command in typer.main.get_group(holder).commands.items():
            self.commands[defined] = command
        return self.commands[name]


app = typer.Typer(
    name="assess",
    cls=LazyGroup,
    rich_markup_mode=None,
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code.

    Click runs in standalone mode, so it prints usage errors itself (usage line, message, exit 2);
    what it lets through is ours: an :class:`AssessError` becomes one line on stderr and exit 2.
    """
    try:
        app(args=argv, prog_name="assess")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except AssessError as err:
        return _print_error(str(err))
    except OSError as err:  # the filesystem refused a read or write the commands did not foresee
        return _print_error(f"{err.filename}: {err.strerror or err}" if err.filename else str(err.strerror or err))
    return 0


def _print_error(message: str) -> int:
    """One line on stderr (markup in the message shown literally, as data may hold brackets); exit code 2."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return 2


if __name__ == "__main__":
    sys.exit(main())
