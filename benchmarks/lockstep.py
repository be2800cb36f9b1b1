"""Contenders that take turns, each in a thread of its own, in one process.

On a shared machine the speed of a core drifts by tens of percent within a second (a
neighbour's load, the clock). Run one after another, two contenders' runs seconds apart
see different machines; taking turns a step or an epoch at a time, the same stretch of
work of each runs within milliseconds of the other's, and their ratio keeps little of
the drift.

Only the thread whose turn it is runs: the others wait on a condition variable, so no two
contenders ever share the core, and the process's CPU time during a turn is that
contender's. A contender calls `turn()` at the end of each turn (steps.py's TurnClock
decides when): it hands over to the next one and waits to be handed back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")
Turn = Callable[[], None]
"""Called by a contender at the end of each of its turns."""


class Lockstep:
    """Round-robin turns among named contenders; a finished (or failed) one leaves the ring."""

    def __init__(self, names: list[str]) -> None:
        self.ring = list(names)
        self.current = self.ring[0] if self.ring else None
        self.condition = threading.Condition()

    def wait(self, name: str) -> None:
        with self.condition:
            self.condition.wait_for(lambda: self.current == name)

    def hand_over(self, name: str, leaving: bool = False) -> None:
        with self.condition:
            position = self.ring.index(name)
            if leaving:
                self.ring.remove(name)
            else:
                position += 1
            self.current = self.ring[position % len(self.ring)] if self.ring else None
            self.condition.notify_all()

    def turn_of(self, name: str) -> Turn:
        def turn() -> None:
            self.hand_over(name)
            self.wait(name)

        return turn


def run_in_lockstep(runners: Mapping[str, Callable[[Turn], T]]) -> dict[str, T]:
    """Run each `runner(turn)` in its own thread, taking turns in the mapping's order.

    A runner's set-up runs in its first turn, before its first epoch. The first exception
    of any runner is raised here once all have finished.
    """
    lockstep = Lockstep(list(runners))
    results: dict[str, T] = {}
    errors: list[BaseException] = []

    def body(name: str, runner: Callable[[Turn], T]) -> None:
        lockstep.wait(name)
        try:
            results[name] = runner(lockstep.turn_of(name))
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)
        finally:
            lockstep.hand_over(name, leaving=True)

    threads = [
        threading.Thread(target=body, args=(name, runner), name=f"contender-{name}")
        for name, runner in runners.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
