"""SIGTERM as an interruption, so a cancelled run unwinds like Ctrl-C: open transactions roll
back and the stages it began record 'cancelled'."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interruption (see ``sigterm_as_interrupt``)."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` (a KeyboardInterrupt), so open transactions
    roll back and interrupted stages record 'cancelled'; once unwound to here, the signal is
    delivered again with its default action, so the process still ends as killed by SIGTERM.

    Only in the main thread (signals cannot be handled elsewhere), and only over the default
    action: a handler someone else installed is kept. Prefect's flow engine installs one that
    raises TerminationSignal, which @cancellable_stage already records as 'cancelled'.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
