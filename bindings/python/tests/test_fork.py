"""Pre-fork servers: a reader opened in the parent and used in children
(os.fork and multiprocessing 'fork'), while the parent keeps reading."""
import multiprocessing
import os
import threading

import pytest

import pricecache


def want(g):
    return 1 if g % 10 == 0 else 100 + g


def check(r, rounds):
    bad = 0
    for i in range(rounds):
        g = i % 100
        p = r.get("acme", "s1", f"item{g}")
        bad += p is None or p.cents != want(g)
        if i % 200 == 0:
            _, many = r.get_many("acme", None, [f"item{x}" for x in range(100)])
            bad += [q.cents for q in many] != [100 + x for x in range(100)]
    return bad


class ParentReads(threading.Thread):
    def __init__(self, r):
        super().__init__()
        self.r, self.stop, self.bad, self.errors, self.rounds = r, threading.Event(), 0, [], 0

    def run(self):
        while not self.stop.is_set():
            try:
                self.bad += check(self.r, 200)
                self.rounds += 1
            except pricecache.Error as e:  # PC_EIO here was the bug
                self.errors.append(e)


def test_os_fork_children(reader):
    assert check(reader, 100) == 0          # the parent has used it before forking
    parent = ParentReads(reader)
    parent.start()
    try:
        kids = []
        for k in range(8):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = 0 if check(reader, 5000) == 0 else 1
                    if k == 0:
                        reader.close()     # closing in the child leaves the parent alone
                finally:
                    os._exit(code)
            kids.append(pid)
        for pid in kids:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
    finally:
        parent.stop.set()
        parent.join()
    assert parent.errors == [] and parent.bad == 0 and parent.rounds > 0
    assert check(reader, 1000) == 0


_shared = None


def _child_task(n):
    return check(_shared, 2000 + n)


def test_multiprocessing_fork_pool(reader):
    global _shared
    _shared = reader
    parent = ParentReads(reader)
    parent.start()
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(8) as pool:
            assert pool.map(_child_task, range(16)) == [0] * 16
    finally:
        parent.stop.set()
        parent.join()
    assert parent.errors == [] and parent.bad == 0
    _shared = None


def test_subscription_refuses_in_child(reader):
    with reader.subscribe() as sub:
        pid = os.fork()
        if pid == 0:
            try:
                sub.get(0)
                os._exit(1)
            except pricecache.Error as e:
                os._exit(0 if "fork" in str(e) else 2)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        sub.get(0)  # still fine in the parent
