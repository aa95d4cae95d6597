"""Events: a publish after an UPDATE in PostgreSQL, the descriptor in a
selector, and a resync after a daemon restart."""
import os
import selectors
import signal
import subprocess
import time

import pytest

import pricecache
from conftest import env, sql, wait_for


def next_matching(sub, pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ev = sub.get(timeout=0.2)
        if ev is None:
            continue
        seen.append(ev)
        if pred(ev):
            return ev
    pytest.fail(f"no matching event in {timeout} s; saw {[(e.kind.value, e.chain) for e in seen][-10:]}")


def test_publish_after_update(reader):
    with reader.subscribe(["acme"]) as sub:
        assert not sub.closed
        # The first heartbeat proves the subscription reached the daemon.
        next_matching(sub, lambda e: e.kind is pricecache.EventKind.HEARTBEAT)
        before = reader.chain_info("acme").version
        sql("UPDATE chain_prices SET price_cents = 4242 WHERE chain_slug = 'acme' AND item_id = 'item42'")
        ev = next_matching(sub, lambda e: e.kind is pricecache.EventKind.PUBLISH and e.version > before)
        assert ev.chain == "acme" and ev.seq > 0 and ev.run > 0 and ev.ts_ms > 0
        # The cache is the truth, and already has it.
        assert reader.chain_info("acme").version >= ev.version
        assert reader.get("acme", None, "item42").cents == 4242
        assert not any(e.chain == "beta" for e in [ev])
    assert sub.closed
    with pytest.raises(pricecache.ReaderClosed):
        sub.get(0)
    sql("UPDATE chain_prices SET price_cents = 142 WHERE chain_slug = 'acme' AND item_id = 'item42'")


def test_fileno_with_selector(reader):
    with reader.subscribe() as sub, selectors.DefaultSelector() as sel:
        sel.register(sub.fileno(), selectors.EVENT_READ)
        deadline = time.monotonic() + 15
        got = []
        while not got and time.monotonic() < deadline:
            sel.select(timeout=0.1)          # the fd may stay quiet: poll every 100 ms anyway
            while (ev := sub.get(0)) is not None:
                got.append(ev)
        assert got, "no event through the selector in 15 s"


def test_chains_filter_and_bad_args(reader):
    with pytest.raises(TypeError):
        reader.subscribe("acme")
    with pytest.raises(ValueError):
        reader.subscribe([])
    with pytest.raises(ValueError):
        reader.subscribe(["Not A Slug"])
    with reader.subscribe(["beta"]) as sub:
        ev = next_matching(sub, lambda e: e.chain != "")
        assert ev.chain == "beta"
        with pytest.raises(ValueError):
            sub.get(-1)


def restart_daemon():
    w = env("PC_TEST_W")
    pidfile = os.path.join(w, "daemon.pid")
    with open(pidfile) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGTERM)

    def gone():
        # A zombie until the harness's shell reaps it, which it may do at
        # any moment (bash reaps background jobs on SIGCHLD).
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] == "Z"
        except FileNotFoundError:
            return True

    wait_for(gone, what="daemon exit")
    with open(os.path.join(w, "daemon.log"), "ab") as log:
        p = subprocess.Popen([os.path.join(env("PC_TEST_BIN"), "pricecached"), "-c",
                              env("PC_TEST_CONF")], stderr=log)
    with open(os.path.join(w, "pids"), "a") as f:
        f.write(f"{p.pid}\n")
    with open(pidfile, "w") as f:
        f.write(f"{p.pid}\n")
    return p


def test_resync_after_daemon_restart(reader):
    with reader.subscribe(["acme"]) as sub:
        first = next_matching(sub, lambda e: e.chain == "acme")
        restart_daemon()
        ev = next_matching(sub, lambda e: e.kind is pricecache.EventKind.RESYNC and e.chain == "acme",
                           timeout=30)
        assert ev.run != first.run or ev.text
        reader.wait_ready(20)
        assert reader.chain_info("acme").version >= 1
        assert reader.get("acme", "s1", "item10").cents == 1


def test_kind_names():
    # Every kind of the library has its member; a kind newer than this
    # package comes as UNKNOWN instead of failing the subscription.
    assert pricecache.EventKind("database") is pricecache.EventKind.DATABASE
    assert pricecache.EventKind("from-a-newer-library") is pricecache.EventKind.UNKNOWN
