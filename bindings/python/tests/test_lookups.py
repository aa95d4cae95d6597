"""Lookups, odd ids, get_many, metadata and argument errors against the real daemon."""
import inspect
import threading

import pytest

import pricecache
from conftest import sql, wait_for

UTF8_ID = "café-ü-€-日本"
TAB_ID = "a\tb"
LONG_ID = "L" * 200


def test_store_base_notfound_nochain(reader):
    p = reader.get("acme", "s1", "item10")
    assert p == pricecache.Price(1, 1700000000, True)
    assert p.is_store_exception and p.cents == 1
    p = reader.get("acme", "s1", "item11")
    assert (p.cents, p.is_store_exception) == (111, False)
    assert reader.get("acme", None, "item10").cents == 110   # base only
    assert reader.get("acme", "", "item10").cents == 110
    assert reader.get("acme", "s1", "nope") is None
    assert reader.get("acme", "s9", "item5").cents == 105     # unknown store: base
    with pytest.raises(pricecache.NoChain) as ei:
        reader.get("nochain", "s1", "item1")
    assert ei.value.code == pricecache.PC_ENOCHAIN
    assert ei.value.code_name == "PC_ENOCHAIN"
    assert "nochain" in str(ei.value)
    assert isinstance(ei.value, pricecache.Error)


def test_odd_ids(reader):
    assert reader.get("acme", None, UTF8_ID).cents == 7
    assert reader.get("acme", None, TAB_ID).cents == 8
    assert reader.get("acme", None, LONG_ID).cents == 9
    assert reader.get("acme", None, UTF8_ID.encode()).cents == 7    # bytes work too
    assert reader.get("acme", "s1", LONG_ID).cents == 9
    assert len(LONG_ID.encode()) == pricecache.PC_ID_MAX
    with pytest.raises(ValueError, match="201 bytes"):
        reader.get("acme", None, LONG_ID + "x")
    with pytest.raises(pricecache.InvalidArgument):
        reader.get("acme", "s" * 201, "item1")
    # 200 bytes of UTF-8 is the limit, not 200 characters
    with pytest.raises(ValueError):
        reader.get("acme", None, "é" * 101)


@pytest.mark.parametrize("args,exc,text", [
    (("acme", None, "a\0b"), ValueError, "NUL"),
    (("acme", "s\0", "item1"), ValueError, "NUL"),
    (("acme", None, ""), ValueError, "empty"),
    (("", None, "item1"), ValueError, "empty"),
    (("acme", 5, "item1"), TypeError, "store must be str"),
    (("acme", None, 5), TypeError, "item must be str"),
    ((None, None, "x"), TypeError, "chain must be str"),
    (("Not A Slug", None, "x"), ValueError, "slug"),
    (("c" * 65, None, "x"), ValueError, "65 bytes"),
])
def test_bad_arguments(reader, args, exc, text):
    with pytest.raises(exc, match=text):
        reader.get(*args)


def test_wrong_arity(reader):
    with pytest.raises(TypeError):
        reader.get("acme", "s1")  # type: ignore[call-arg]


def test_get_many(reader):
    version, prices = reader.get_many("acme", "s1", ["item10", "item11", "nope", UTF8_ID])
    assert version == reader.chain_info("acme").version
    assert [p and p.cents for p in prices] == [1, 111, None, 7]
    assert reader.get_many("acme", None, [])[1] == []
    with pytest.raises(ValueError):
        reader.get_many("acme", None, ["ok", ""])
    with pytest.raises(TypeError):
        reader.get_many("acme", None, "item1")
    with pytest.raises(pricecache.NoChain):
        reader.get_many("nochain", None, ["item1"])


def test_get_many_one_version_while_republishing(reader):
    """Every answer of one get_many comes from one version while the daemon
    publishes a new one for each UPDATE (all 100 prices change at once)."""
    items = [f"item{g}" for g in range(100)]
    v0 = reader.chain_info("acme").version
    stop = threading.Event()
    errors = []

    def writer():
        try:
            for rnd in range(1, 16):
                if stop.is_set():
                    break
                sql(f"UPDATE chain_prices SET price_cents = {rnd * 1000} + "
                    f"substr(item_id, 5)::int WHERE chain_slug = 'acme' AND item_id ~ '^item[0-9]+$'")
                wait_for(lambda: reader.get("acme", None, "item0").cents == rnd * 1000,
                         what=f"round {rnd}")
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    versions = set()
    rounds = set()
    while t.is_alive():
        version, prices = reader.get_many("acme", None, items)
        assert all(p is not None for p in prices)
        highs = {p.cents // 1000 if p.cents >= 1000 else 0 for p in prices}
        assert len(highs) == 1, f"mixed versions in one answer: {sorted(highs)}"
        assert [p.cents % 1000 if p.cents >= 1000 else p.cents - 100 for p in prices] == list(range(100))
        versions.add(version)
        rounds |= highs
    t.join()
    assert not errors, errors
    assert len(versions) >= 3 and len(rounds) >= 3, (versions, rounds)
    assert max(versions) > v0
    sql("UPDATE chain_prices SET price_cents = 100 + substr(item_id, 5)::int "
        "WHERE chain_slug = 'acme' AND item_id ~ '^item[0-9]+$'")
    wait_for(lambda: reader.get("acme", None, "item0").cents == 100, what="prices restored")


def test_chain_info_and_chains(reader):
    info = reader.chain_info("acme")
    assert info.version >= 1 and info.base_rows == 103 and info.store_rows == 11
    assert info.breaker is pricecache.Breaker.CLOSED
    assert info.loaded_at_ms > 1_600_000_000_000
    assert reader.chains() == ["acme", "beta"]
    with pytest.raises(pricecache.NoChain):
        reader.chain_info("nochain")


def test_wait_ready(reader):
    assert reader.wait_ready(0) is None
    assert reader.wait_ready() is None
    with pytest.raises(ValueError):
        reader.wait_ready(-1)


def test_default_path_and_open_errors(tmp_path, monkeypatch):
    with pricecache.open() as r:     # $PRICECACHE_PATH
        assert r.get("beta", None, "b1").cents == 50
    monkeypatch.delenv("PRICECACHE_PATH")
    assert pricecache.default_path() == "/var/lib/pricecache"
    with pytest.raises(pricecache.Error) as ei:
        pricecache.open(tmp_path / "none")
    assert ei.value.code in (pricecache.PC_EIO, pricecache.PC_ENOTREADY)
    with pytest.raises(pricecache.NotReady):
        pricecache.open(tmp_path)       # a directory with no cache yet
    with pytest.raises(ValueError):
        pricecache.open("")


def test_closed_reader():
    r = pricecache.open()
    assert not r.closed
    r.close()
    r.close()  # twice is fine
    assert r.closed
    for call in (lambda: r.get("acme", None, "item1"), lambda: r.get_many("acme", None, ["x"]),
                 lambda: r.chain_info("acme"), r.chains, r.wait_ready,
                 lambda: r.basket("acme", None, [("item1", 1)]), r.subscribe):
        with pytest.raises(pricecache.ReaderClosed):
            call()
    with pytest.raises(pricecache.Error):
        with r:
            pass
    # Readers dropped without close() are freed by the finalizer.
    for _ in range(200):
        pricecache.open().get("acme", None, "item1")


def test_threads(reader):
    """8 threads share one reader (GIL held during get; get_many releases it)."""
    errors = []

    def work(k):
        try:
            for i in range(3000):
                g = (i + k) % 100
                p = reader.get("acme", "s1", f"item{g}")
                want = 1 if g % 10 == 0 else 100 + g
                assert p is not None and p.cents == want, (g, p)
                if i % 100 == 0:
                    _, many = reader.get_many("acme", None, [f"item{x}" for x in range(100)])
                    assert [q.cents for q in many] == [100 + x for x in range(100)]
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]


def test_help_texts():
    for f in (pricecache.Reader.get, pricecache.Reader.get_many, pricecache.Reader.basket,
              pricecache.Reader.basket_multi, pricecache.Reader.subscribe, pricecache.open,
              pricecache.Subscription.get):
        assert f.__doc__ and len(f.__doc__) > 40, f
    assert str(inspect.signature(pricecache.Reader.get)) == "(self, chain, store, item, /)"
