"""Progress a person can follow: one bar per long command, as ``backfill`` shows its days."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Step = Callable[[str, int, "int | None"], None]


def bar(console: Console) -> Progress:
    """The bar every long command uses: what it is doing, the bar, done/total, time so far."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


@contextmanager
def steps(console: Console, title: str) -> Iterator[Step]:
    """A bar for work reported as ``(what, done, total)``; total None shows a pulsing bar.

    Each new ``what`` is printed as a line of its own when the step before it ends, so the
    terminal keeps a record of the steps, not just the last one.
    """
    with bar(console) as progress:
        task = progress.add_task(title, total=None)
        current: list[tuple[str, int, int | None]] = []

        def finish() -> None:
            what, done, total = current[0]
            counted = f" ({done}/{total})" if total else ""
            progress.console.print(f"  done: {what}{counted}")

        def step(what: str, done: int, total: int | None) -> None:
            if current and current[0][0] != what:
                finish()
                progress.reset(task, total=total, completed=done)
            current[:] = [(what, done, total)]
            progress.update(task, description=f"{title}: {what}", completed=done, total=total)

        yield step
        if current:
            finish()
