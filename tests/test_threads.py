"""The kernels' thread governor: all the threads on a quiet machine, one while the other
core is busy, the caller's thread count restored (a simulated clock and numba)."""

from __future__ import annotations

from nnbench.core.kernels.threads import Governor


class FakeNumba:
    """``get_num_threads``/``set_num_threads`` of numba, and a clock that each call moves
    on by the time a call takes on the current thread count (``times[n]``)."""

    def __init__(self, threads: int = 2):
        self.threads = threads
        self.now = 0.0
        self.times = {1: 1.0e-3, 2: 0.5e-3}
        self.counts: list[int] = []  # the thread count of every call

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, n: int) -> None:
        self.threads = n

    def clock(self) -> float:
        return self.now

    def work(self) -> int:
        self.counts.append(self.threads)
        self.now += self.times[self.threads]
        return self.threads


def calls(gov: Governor, nb: FakeNumba, n: int) -> list[int]:
    start = len(nb.counts)
    for _ in range(n):
        gov.call(nb, nb.work)
    return nb.counts[start:]


def test_a_quiet_machine_runs_on_all_the_threads_but_for_the_measurements():
    nb = FakeNumba()
    gov = Governor(clock=nb.clock)
    counts = calls(gov, nb, 20000)  # 10 s of calls at 0.5 ms
    first = int(Governor.FIRST / nb.times[2])  # a short run is not measured
    assert counts[:first] == [2] * first
    assert counts[first:first + Governor.PROBE] == [1] * Governor.PROBE
    ones = counts.count(1)
    # a measurement of one thread every EVERY seconds, nothing else
    assert ones <= Governor.PROBE * (1 + 10.5 / Governor.EVERY)
    assert counts[-1] == 2
    assert nb.threads == 2  # the caller's count, restored


def test_a_busy_core_turns_the_calls_to_one_thread_and_back_when_it_is_free():
    nb = FakeNumba()
    gov = Governor(clock=nb.clock)
    calls(gov, nb, 1000)
    nb.times[2] = 14e-3  # another process on one of the cores
    busy = calls(gov, nb, 4000)  # about 4 s
    # each decision takes the slow calls whose time passes a window's on one thread:
    # once when the core turns busy, then at each try of all the threads (every EVERY s)
    per_decision = int(Governor.WINDOW * nb.times[1] / nb.times[2]) + 1
    slow = busy.count(2)
    assert per_decision <= slow <= per_decision * (1 + 4.5 / Governor.EVERY)
    assert busy[-1] == 1
    nb.times[2] = 0.5e-3  # quiet again
    quiet = calls(gov, nb, 8000)
    assert quiet[-1] == 2
    back = quiet.index(2)
    assert nb.times[1] * back <= Governor.EVERY + 1e-9  # within a measurement's interval


def test_a_caller_on_one_thread_is_left_alone():
    nb = FakeNumba(threads=1)
    gov = Governor(clock=nb.clock)
    assert set(calls(gov, nb, 100)) == {1}
    assert nb.threads == 1


def test_the_caller_count_is_restored_when_the_call_fails():
    nb = FakeNumba()
    gov = Governor(clock=nb.clock)

    def fails():
        nb.work()
        raise RuntimeError("boom")

    gov.call(nb, nb.work)
    nb.now += Governor.FIRST  # one thread's measurement is due
    try:
        gov.call(nb, fails)
    except RuntimeError:
        pass
    assert nb.counts == [2, 1]
    assert nb.threads == 2
