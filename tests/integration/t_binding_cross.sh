# The cross-language check: the same 10,000 random lookups read through C
# (pcanswer, pc_get), Go (bindings/go/cmd/pcanswer), Python
# (bindings/python/tests/answer.py) and Node.js (bindings/node/test/answer.js)
# against one running daemon's cache; every answer must be equal, byte for
# byte.  The data and the lookups are drawn at random (seed printed, and
# PC_CROSS_SEED replays one): hits on base prices and store exceptions, a
# store without an exception falling back to the base price, misses,
# unknown and invalid chains, UTF-8 ids, ids of exactly 200 bytes and one
# byte over, cents up to 2^63-1.
command -v go >/dev/null || fail "go not found: install golang-go (scripts/deps.sh)"
command -v node >/dev/null || fail "node not found: the Node.js binding needs Node.js >= 18"
command -v npm >/dev/null || fail "npm not found"
PY=/usr/bin/python3
[ -x "$PY" ] || fail "no $PY: scripts/deps.sh installs python3"

SEED=${PC_CROSS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "cross: seed $SEED (PC_CROSS_SEED=$SEED replays it)"
NKEYS=10000

# --- the three bindings, built against the staged library -----------------
stage_lib "$W/stage"
export PKG_CONFIG_PATH="$W/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$W/stage" \
    LD_LIBRARY_PATH="$W/stage/usr/lib"
# A sanitizer build of the library needs its runtime loaded first into the
# Go programs and the interpreters (make SAN=asan check).
SANX=$(san_exec "$W")
interp() { $SANX "$@"; }

cp -R "$ROOT/bindings/go" "$W/gomod"
(cd "$W/gomod" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOCACHE="$W/gocache" \
    GOPATH="$W/gopath" CGO_ENABLED=1 go build -o "$W/goanswer" ./cmd/pcanswer) >"$W/go.log" 2>&1 ||
    fail "go build ./cmd/pcanswer: $(tail -20 "$W/go.log")"

cp -R "$ROOT/bindings/python" "$W/pysrc"
rm -rf "$W/pysrc/build" "$W/pysrc/src/pricecache.egg-info"
(cd "$W/pysrc" && "$PY" -m pip install --no-build-isolation --no-index --no-cache-dir \
    --target "$W/site" .) >"$W/pip.log" 2>&1 || fail "pip install: $(tail -20 "$W/pip.log")"

NODE_PREFIX=$(node -p 'require("path").resolve(process.execPath, "../..")')
mkdir -p "$W/node"
(cd "$ROOT/bindings/node" && cp -r package.json package-lock.json binding.gyp index.d.ts src lib test "$W/node/")
(cd "$W/node" && npm_config_nodedir="$NODE_PREFIX" npm ci --offline --no-audit --no-fund) >"$W/npm.log" 2>&1 ||
    fail "npm ci --offline (scripts/deps.sh fills npm's cache): $(tail -20 "$W/npm.log")"

# --- random data ------------------------------------------------------------
# Ids from an alphabet with multi-byte UTF-8 (2, 3 and 4 bytes), of random
# length; some exactly 200 bytes (PC_ID_MAX).  No tab, newline or backslash:
# the lookup format is tab-separated lines.
seed_basic
sql "INSERT INTO chains(slug) VALUES ('c1'), ('c2'), ('c-3');
     SELECT setseed(($SEED % 1000000)::float8 / 1000000);
     CREATE TEMP TABLE ids AS
       SELECT DISTINCT x.id
         FROM (SELECT 'abcdexyz012-_.' || chr(233) || chr(252) || chr(223) || chr(8364) || chr(26085)
                      || chr(26412) || chr(128578) || chr(128512) AS a) alpha,
              generate_series(1, 3000) g,
              LATERAL (SELECT string_agg(substr(alpha.a, 1 + floor(random() * length(alpha.a))::int + s * 0, 1), '') AS id
                         FROM generate_series(1, 1 + (random() * 12)::int + g * 0) s) x;
     INSERT INTO ids SELECT repeat('m', 199) || chr(48 + g) FROM generate_series(0, 4) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at)
       SELECT ch, id,
              CASE WHEN random() < 0.02 THEN 9223372036854775807 - (random() * 1000)::bigint
                   WHEN random() < 0.05 THEN 9007199254740993 ELSE (random() * 100000)::bigint END,
              to_timestamp(1600000000 + (random() * 100000000)::bigint)
         FROM ids, unnest(ARRAY['c1', 'c2', 'c-3']) ch WHERE random() < 0.7;
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at)
       SELECT chain_slug, st, item_id, (random() * 100000)::bigint,
              to_timestamp(1600000000 + (random() * 100000000)::bigint)
         FROM chain_prices, unnest(ARRAY['s1', 'störe-2', 'S3']) st
        WHERE chain_slug IN ('c1', 'c2', 'c-3') AND random() < 0.2;
     -- exceptions on items with no base price at all
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents)
       SELECT 'c2', 's1', 'only-store-' || g, g FROM generate_series(1, 50) g;"
start_daemon

# --- 10,000 random lookups --------------------------------------------------
# Drawn from the database's own keys (exceptions, base prices under a store
# with or without an exception) and from keys it does not have.
sql "SELECT setseed(($SEED % 1000000)::float8 / 1000000 / 2);
     CREATE TEMP TABLE q(n serial, chain text, store text, item text);
     INSERT INTO q(chain, store, item)
       SELECT chain_slug, store_id, item_id FROM store_prices ORDER BY random() LIMIT 2500;
     INSERT INTO q(chain, store, item)
       SELECT chain_slug, (ARRAY['', 's1', 'störe-2', 'S3', 'nostore'])[1 + (random() * 4)::int], item_id
         FROM chain_prices ORDER BY random() LIMIT 4000;
     INSERT INTO q(chain, store, item)
       SELECT (ARRAY['c1', 'c2', 'c-3'])[1 + (random() * 2)::int], '', 'miss-' || g FROM generate_series(1, 1500) g;
     INSERT INTO q(chain, store, item)
       SELECT (ARRAY['nochain', 'zz', 'c4'])[1 + (random() * 2)::int], 's1', 'x' || g FROM generate_series(1, 700) g;
     INSERT INTO q(chain, store, item)
       SELECT (ARRAY['Bad', 'c 1', '', repeat('c', 65)])[1 + (random() * 3)::int], '', 'x' FROM generate_series(1, 300) g;
     INSERT INTO q(chain, store, item)
       SELECT 'c1', '', repeat('m', 201) FROM generate_series(1, 100) g;
     INSERT INTO q(chain, store, item)
       SELECT 'c1', repeat('s', 201), 'x' FROM generate_series(1, 100) g;
     INSERT INTO q(chain, store, item)
       SELECT chain_slug, '', item_id FROM chain_prices ORDER BY random() LIMIT $NKEYS - (SELECT count(*) FROM q);
     CREATE TABLE cross_q AS SELECT * FROM q ORDER BY random();" >/dev/null
psql -X -q -At -F "$(printf '\t')" -d "$DB" \
    -c "SELECT chain, store, item FROM cross_q" >"$W/lookups.tsv" 2>"$W/psql.err" ||
    fail "psql: $(cat "$W/psql.err")"
assert_eq "$NKEYS" "$(wc -l <"$W/lookups.tsv")" "lookups drawn"

# --- four answers -------------------------------------------------------------
export PRICECACHE_PATH="$CACHE"
"$B/itest/pcanswer" <"$W/lookups.tsv" >"$W/c.out" || fail "pcanswer (C) exited $?"
interp "$W/goanswer" <"$W/lookups.tsv" >"$W/go.out" || fail "pcanswer (Go) exited $?"
interp env PYTHONPATH="$W/site" PYTHONDONTWRITEBYTECODE=1 "$PY" "$W/pysrc/tests/answer.py" \
    <"$W/lookups.tsv" >"$W/py.out" || fail "answer.py exited $?"
(cd "$W/node" && interp node test/answer.js) <"$W/lookups.tsv" >"$W/node.out" || fail "answer.js exited $?"

assert_eq "$NKEYS" "$(wc -l <"$W/c.out")" "C answers"
# The data must exercise every kind of answer, or the comparison proves little.
for kind in ok notfound nochain error; do
    n=$(grep -c "^$kind" "$W/c.out" || true)
    [ "$n" -ge 100 ] || fail "only $n '$kind' answers among $NKEYS: the draw is too narrow"
done
grep -q "$(printf '\t')1\$" "$W/c.out" || fail "no store exception among the answers"
grep -q "^ok$(printf '\t')9007199254740993" "$W/c.out" || fail "no cents above 2^53 among the answers"
for lang in go py node; do
    if ! cmp -s "$W/c.out" "$W/$lang.out"; then
        paste "$W/lookups.tsv" "$W/c.out" >"$W/c.joined"
        paste "$W/lookups.tsv" "$W/$lang.out" >"$W/$lang.joined"
        fail "$lang answers differ from C's (seed $SEED): $(diff "$W/c.joined" "$W/$lang.joined" | head -20)"
    fi
done

# --- README's examples, run as written (and README holds them verbatim) ------
(cd "$W/gomod" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOCACHE="$W/gocache" \
    GOPATH="$W/gopath" CGO_ENABLED=1 go run ${SANX:+-exec "$SANX"} ./cmd/example) >"$W/ex-go.out" 2>&1 || fail "Go example: $(cat "$W/ex-go.out")"
interp env PYTHONPATH="$W/site" PYTHONDONTWRITEBYTECODE=1 "$PY" "$W/pysrc/examples/example.py" \
    >"$W/ex-py.out" 2>&1 || fail "Python example: $(cat "$W/ex-py.out")"
mkdir -p "$W/nodepath" && ln -s "$W/node" "$W/nodepath/pricecache"
cp -r "$ROOT/bindings/node/examples" "$W/node/"
NODE_PATH="$W/nodepath" interp node "$W/node/examples/example.js" >"$W/ex-node.out" 2>&1 ||
    fail "Node.js example: $(cat "$W/ex-node.out")"
for lang in go py node; do
    for want in 'item10 at s1: 1 cents, store exception: [Tt]rue' 'no-such-item.*\(true\|None\|null\)' \
        'version [1-9][0-9]* item1 101 item2 102' 'basket at s1: 113 cents, 2 lines priced'; do
        grep -q "^$want\$" "$W/ex-$lang.out" || fail "$lang example: no line '$want' in: $(cat "$W/ex-$lang.out")"
    done
done
"$PY" - "$ROOT/README.md" "$ROOT/bindings/go/cmd/example/main.go" "$ROOT/bindings/python/examples/example.py" \
    "$ROOT/bindings/node/examples/example.js" <<'PYEOF' || fail "README's examples differ from the files the test runs"
import sys
readme = open(sys.argv[1], encoding="utf-8").read()
bad = [f for f in sys.argv[2:] if open(f, encoding="utf-8").read() not in readme]
for f in bad:
    print("README.md does not hold", f, "verbatim", file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

echo "cross: $NKEYS lookups, C = Go = Python = Node.js ($(cut -f1 "$W/c.out" | sort | uniq -c | tr -s ' \n' ' '))"
stop_daemon
