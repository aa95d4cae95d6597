"""Baskets through the binding, checked against the C library's answers
(`pricecache basket --json`, the CLI over the same cache), and their errors."""
import json
import os
import subprocess

import pytest

import pricecache
from conftest import env


def c_basket(chain, stores, lines):
    """The CLI's answer (C library, default options) for the same basket."""
    stdin = "".join(f"{item} {qty}\n" for item, qty in lines)
    out = subprocess.run([os.path.join(env("PC_TEST_BIN"), "pricecache"), "-d",
                          env("PRICECACHE_PATH"), "basket", "--json", chain, *stores],
                         input=stdin, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def same(py, c):
    assert py.version == c["version"]
    assert py.algorithm == c["algorithm"]
    assert py.stores == c["stores"]
    assert py.total_cents == c["total_cents"]
    assert py.penalty_total_cents == c["penalty_total_cents"]
    assert py.penalty_cents == c["penalty_cents"]
    assert py.penalty_fallback == c["penalty_fallback"]
    assert py.avg_cents == c["avg_cents"]
    assert (py.nfound, py.nmissing) == (c["found"], c["missing"])
    assert py.coverage == pytest.approx(c["coverage"], abs=1e-6)
    assert len(py.lines) == len(c["lines"])
    for pl, cl in zip(py.lines, c["lines"]):
        assert (pl.item, pl.qty, pl.unit_cents, pl.line_cents, pl.source.value, pl.store) == \
               (cl["item"], cl["qty"], cl["unit_cents"], cl["line_cents"], cl["source"], cl["store"])
        assert pl.updated_at == (cl["updated_at"] or 0)


LINES = [("item10", 2), ("item11", 1), ("nope", 1), ("item20", 3), ("item10", 1)]


def test_single_against_c(reader):
    py = reader.basket("acme", "s1", LINES)
    same(py, c_basket("acme", ["s1"], LINES))
    assert py.algorithm == "single" and py.nmissing == 1
    assert py.lines[2].source is pricecache.LineSource.PENALTY and py.lines[2].store is None
    assert py.lines[0].source is pricecache.LineSource.STORE
    base = reader.basket("acme", None, LINES)
    same(base, c_basket("acme", [""], LINES))
    assert reader.basket("acme", "s1", dict(LINES[:4])).total_cents == \
        reader.basket("acme", "s1", LINES[:4]).total_cents


def test_multi_against_c(reader):
    lines = [("item10", 1), ("item20", 1), ("item33", 2), ("nope", 1)]
    py = reader.basket_multi("acme", ["s1", "s2", "s3"], lines)
    same(py, c_basket("acme", ["s1", "s2", "s3"], lines))
    assert py.algorithm == "optimal"


def test_every_option(reader):
    lines = [("item10", 1), ("item33", 2), ("nope", 1)]
    d = reader.basket("acme", "s1", lines)
    p = reader.basket("acme", "s1", lines, penalty_mult=3.0)
    assert p.penalty_cents == round(d.avg_cents * 3.0) and p.total_cents > d.total_cents
    assert reader.basket("beta", None, [("nope", 1)], fallback_cents=7).penalty_cents != 7
    g = reader.basket_multi("acme", ["s1", "s2"], lines, exact_max_items=0)
    assert g.algorithm == "greedy"
    g = reader.basket_multi("acme", ["s1", "s2"], lines, exact_max_stores=1)
    assert g.algorithm == "greedy"
    t = reader.basket_multi("acme", ["s1", "s2"], lines, budget_ms=0)
    assert t.algorithm == "greedy_timeout_fallback"
    one = reader.basket_multi("acme", ["s1", "s2"], lines, max_stores=1, penalty_mult=1.5,
                              fallback_cents=5)
    assert len(one.stores) <= 1 and one.penalty_cents == round(one.avg_cents * 1.5)


def test_basket_errors(reader):
    with pytest.raises(pricecache.NoChain):
        reader.basket("nochain", "s1", [("item1", 1)])
    with pytest.raises(pricecache.NoItems):
        reader.basket("acme", "s1", [])
    with pytest.raises(ValueError, match="positive"):
        reader.basket("acme", "s1", [("item1", -1)])
    with pytest.raises(ValueError, match="positive"):
        reader.basket("acme", "s1", [("item1", 0)])
    with pytest.raises(ValueError, match="positive"):
        reader.basket("acme", "s1", [("item1", 2**63)])
    with pytest.raises(TypeError):
        reader.basket("acme", "s1", [("item1", 1.5)])
    with pytest.raises(TypeError):
        reader.basket("acme", "s1", ["item1"])
    with pytest.raises(TypeError):
        reader.basket("acme", "s1", "item1")
    with pytest.raises(ValueError):
        reader.basket("acme", "s1", [("", 1)])
    with pytest.raises(ValueError):
        reader.basket("acme", "s1", [("x" * 201, 1)])
    with pytest.raises(ValueError):
        reader.basket("acme", "s1", [("item1", 1)], penalty_mult=-1)
    with pytest.raises(ValueError):
        reader.basket("acme", "s1", [("item1", 1)], penalty_mult=float("nan"))
    with pytest.raises(ValueError):
        reader.basket_multi("acme", ["s1"], [("item1", 1)], max_stores=0)
    with pytest.raises(ValueError):
        reader.basket_multi("acme", ["s1"], [("item1", 1)], budget_ms=-5)
    with pytest.raises(TypeError):
        reader.basket("acme", "s1", [("item1", 1)], max_stores=1)   # multi only
    with pytest.raises(TypeError):
        reader.basket("acme", "s1", [("item1", 1)], bogus=1)
    with pytest.raises(ValueError):
        reader.basket_multi("acme", [], [("item1", 1)])
    with pytest.raises(pricecache.TooMany):
        reader.basket_multi("acme", [f"s{i}" for i in range(129)], [("item1", 1)])
    with pytest.raises(pricecache.TooMany):
        reader.basket("acme", "s1", [("item1", 1)] * 10001)
    with pytest.raises(pricecache.Overflow):
        reader.basket("acme", "s1", [("item11", 2**62), ("item12", 2**62)])
