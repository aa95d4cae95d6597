"""Fixtures for the pricecache tests: a real daemon and PostgreSQL, set up by
tests/integration/t_binding_python.sh, which passes:

  PRICECACHE_PATH  the cache directory     PC_TEST_DSN   the database
  PC_TEST_BIN      the build directory     PC_TEST_CONF  the daemon's config
  PC_TEST_W        the scenario's work dir (daemon.log, pids, daemon.pid)
"""
import os
import subprocess
import time

import pytest

import pricecache

# Under a sanitizer build of the library the interpreter runs with the
# sanitizer's runtime preloaded (tests/lib/scenario.sh, san_exec); the
# programs the tests start (psql, the CLI, the daemon) must not inherit the
# preload (psql hangs with it) and get the scenario's ASAN_OPTIONS back.
os.environ.pop("LD_PRELOAD", None)
if "PC_TEST_ASAN_OPTIONS" in os.environ:
    os.environ["ASAN_OPTIONS"] = os.environ.pop("PC_TEST_ASAN_OPTIONS")


def env(name):
    v = os.environ.get(name)
    if not v:
        pytest.fail(f"{name} is not set: run through tests/integration/t_binding_python.sh")
    return v


def sql(statement):
    """Run SQL on the test database (psql, autocommit: one transaction each)."""
    subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", env("PC_TEST_DSN"),
                    "-c", statement], check=True, capture_output=True)


def wait_for(cond, timeout=15.0, what="condition"):
    """Poll cond() until true, with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def reader():
    with pricecache.open() as r:
        r.wait_ready(20)
        yield r
