"""How many of numba's threads a kernel's next call takes: all it was given, or one while
the machine is busy.

numba's OpenMP threads wait for the next call spinning a while, so that a quiet machine's
second core takes it at once; but with another process on one of the cores, a call on two
threads waits for the one that is not running, and takes up to thirty times as long as on
one thread (measured on 2 cores: 0.5 ms quiet, 1 ms on one thread, 14 ms for many calls on
two). :class:`Governor` keeps the mean time of a call on one thread, measured now and then,
and of the last calls on all of them, and takes the faster. The thread count never changes
a number: a run's sums are taken in parts of a fixed size, added in a fixed order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Governor:
    """The thread count of each call of one kernel (:meth:`call`). On all the threads the
    caller set (``numba.set_num_threads``), each :attr:`WINDOW` calls' mean time is compared
    with one thread's; on one thread, every :attr:`EVERY` seconds up to :attr:`WINDOW` calls
    try all the threads again (fewer once their mean cannot come under one thread's), and
    on all of them, every :attr:`EVERY` seconds :attr:`PROBE` calls measure one thread's
    time again, the first time :attr:`FIRST` seconds after the first call (a shorter run
    is not slowed by a measurement). ``clock`` is the timer (a test gives its own)."""

    #: seconds between two measurements of the other side
    EVERY = 3.0
    #: calls of a measurement on one thread
    PROBE = 4
    #: calls whose mean time decides, on all the threads
    WINDOW = 16
    #: seconds from the first call to the first measurement of one thread
    FIRST = 0.5

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.one = False  # the calls take one thread (the machine is busy)
        self.t_one = None  # mean seconds of a call on one thread, last measured
        self.probe: list[float] = []  # times of the calls of the measurement under way
        self.window: list[float] = []  # times of the last calls on all the threads
        self.next: float | None = None  # the clock at which the other side is measured

    def _one_now(self) -> bool:
        """Whether the next call takes one thread: the chosen side, or the other one while
        it is measured (a measurement under way or due)."""
        if self.next is None:
            self.next = self.clock() + self.FIRST
        measuring = bool(self.probe) or self.clock() >= self.next
        return self.one != measuring

    def call(self, numba: Any, fn: Callable[[], Any]) -> Any:
        """``fn()`` (a kernel's call) on the thread count chosen for it, the count the
        caller set being restored afterwards; its time counted."""
        asked = numba.get_num_threads()
        if asked < 2:
            return fn()
        one = self._one_now()
        if one:
            numba.set_num_threads(1)
        try:
            start = self.clock()
            out = fn()
            took = self.clock() - start
        finally:
            if one:
                numba.set_num_threads(asked)
        self._count(one, took)
        return out

    def _count(self, one: bool, took: float) -> None:
        """Count a call of ``took`` seconds on one thread (``one``) or on all of them."""
        if one != self.one:  # a measurement of the side not chosen
            self.probe.append(took)
            # all the threads tried again: done once their mean cannot come under one's
            lost = not one and sum(self.probe) >= self.WINDOW * self.t_one
            if len(self.probe) < (self.PROBE if one else self.WINDOW) and not lost:
                return
            mean = sum(self.probe) / len(self.probe)
            self.probe = []
            self.next = self.clock() + self.EVERY
            if one:
                self.t_one = mean
            else:
                self.one = lost or mean >= self.t_one
            return
        if one:  # on one thread, chosen: its time as it goes
            self.t_one = 0.9 * self.t_one + 0.1 * took
            return
        if self.t_one is None:  # nothing to compare with yet
            return
        self.window.append(took)
        total = sum(self.window)  # over one thread's time for the window: one from now
        if len(self.window) == self.WINDOW or total > self.WINDOW * self.t_one:
            self.window = []
            if total > self.WINDOW * self.t_one:
                self.one = True
                self.next = self.clock() + self.EVERY
