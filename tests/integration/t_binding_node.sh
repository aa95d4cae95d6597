# The Node.js binding (bindings/node): its node --test suite against the real
# daemon and PostgreSQL.  The addon is built under $W from a copy of the
# package, against the staged library (pkg-config), with the npm packages
# of package-lock.json from npm's cache (scripts/deps-node.sh fills it):
# nothing is downloaded here, nothing is written in the tree.
command -v node >/dev/null 2>&1 || fail "node not found: the Node.js binding needs Node.js >= 18 with its headers"
command -v npm >/dev/null 2>&1 || fail "npm not found: the Node.js binding needs npm (it brings node-gyp)"
NODE_PREFIX=$(node -p 'require("path").resolve(process.execPath, "../..")')
[ -f "$NODE_PREFIX/include/node/node_api.h" ] || fail "no Node.js headers in $NODE_PREFIX/include/node"

stage_lib "$W/stage"
export PKG_CONFIG_PATH="$W/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$W/stage"
export LD_LIBRARY_PATH="$W/stage/usr/lib"
# node-gyp builds against the headers of the running Node.js, offline.
export npm_config_nodedir="$NODE_PREFIX"
mkdir -p "$W/node"
(cd "$ROOT/bindings/node" && cp -r package.json package-lock.json binding.gyp index.d.ts README.md src lib test "$W/node/")
# npm ci runs the package's install script: node-gyp rebuild.
(cd "$W/node" && npm ci --offline --no-audit --no-fund) >"$W/npm.log" 2>&1 ||
    fail "npm ci --offline in $W/node (run scripts/deps.sh to fill npm's cache): $(tail -25 "$W/npm.log")"
[ -f "$W/node/build/Release/pricecache.node" ] || fail "the addon was not built: $(tail -25 "$W/npm.log")"
# The declarations compile against a TypeScript user of every call.
(cd "$W/node" && node node_modules/typescript/bin/tsc --noEmit -p test/tsconfig.json) >"$W/tsc.log" 2>&1 ||
    fail "tsc: $(head -30 "$W/tsc.log")"

# npm pack gives a tarball that installs (and builds) in another project.
(cd "$W/node" && npm pack --pack-destination "$W" --silent) >"$W/pack.out" 2>&1 || fail "npm pack: $(cat "$W/pack.out")"
mkdir "$W/consumer"
(cd "$W/consumer" && echo '{"name":"consumer","version":"1.0.0","private":true}' >package.json &&
    npm install --offline --no-audit --no-fund "$W/$(tail -1 "$W/pack.out")") >"$W/consumer.log" 2>&1 ||
    fail "npm install of the packed tarball: $(tail -20 "$W/consumer.log")"
[ -f "$W/consumer/node_modules/pricecache/index.d.ts" ] || fail "the tarball lacks index.d.ts"

# A sanitizer build of the library (make SAN=asan check) needs its runtime
# loaded first into node, whose own allocations are not ours to check (the
# tests start psql, the CLI and the daemon without it: psql hangs with it).
asan=$(ldd "$W/stage/usr/lib/libpricecache.so.1" | awk '/libasan/ {print $3}')
pcnode() {
    if [ -n "$asan" ]; then
        PC_TEST_ASAN_OPTIONS="${ASAN_OPTIONS:-}" LD_PRELOAD="$asan" \
            ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" node "$@"
    else
        node "$@"
    fi
}

seed_basic
sql "INSERT INTO chains(slug) VALUES ('odd'), ('big'), ('huge'), ('flip'), ('nobase');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents, updated_at) VALUES
       ('odd', 'café-ü€😀', 777, to_timestamp(1700000001)),
       ('odd', E'tab\there', 778, to_timestamp(1700000002)),
       ('odd', repeat('x', 200), 779, to_timestamp(1700000003)),
       ('odd', repeat('é', 100), 780, to_timestamp(1700000004)),
       ('big', 'max', 9223372036854775807, to_timestamp(1700000005)),
       ('big', 'safe', 9007199254740991, to_timestamp(1700000006)),
       ('big', 'unsafe', 9007199254740993, to_timestamp(1700000007)),
       ('big', 'small', 5, to_timestamp(1700000008)),
       ('huge', 'unsafe', 9007199254740993, to_timestamp(1700000007)),
       ('huge', 'small', 5, to_timestamp(1700000008));
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents, updated_at) VALUES
       ('odd', E'störe\t1', 'café-ü€😀', 1, to_timestamp(1700000009)),
       ('nobase', 's1', 'only', 42, to_timestamp(1700000010));
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'flip', 'f' || g, 1 FROM generate_series(0, 99) g"
printf '[bus]\nevents = ipc://%s/events.ipc\n' "$W" >>"$CONF"
start_daemon

(cd "$W/consumer" && PRICECACHE_PATH="$CACHE" pcnode -e "
    const p = require('pricecache').open().get('acme', 's1', 'item10');
    if (!p || p.cents !== 1 || !p.storeException) { console.error(p); process.exit(1); }") ||
    fail "the packed package does not read the cache"
# answer.js, the cross-language tool: one line per lookup, as the C answers.
printf 'acme\ts1\titem10\nacme\t\titem10\nacme\ts1\tnope\nnosuch\t\tx\nacme\t\t\nbig\t\tmax\nodd\t\t%s\n' \
    "$(printf 'x%.0s' $(seq 201))" | (cd "$W/node" && PRICECACHE_PATH="$CACHE" pcnode test/answer.js) >"$W/answer.out" ||
    fail "answer.js exited $?"
printf 'ok\t1\t1700000000\t1\nok\t110\t1700000010\t0\nnotfound\nnochain\nerror\tPC_EINVAL\nok\t9223372036854775807\t1700000005\t0\nerror\tPC_EINVAL\n' >"$W/answer.want"
diff "$W/answer.want" "$W/answer.out" >"$W/answer.diff" || fail "answer.js: $(cat "$W/answer.diff")"

# The suite may restart the daemon (resync): it records the pids it starts.
export PRICECACHE_PATH="$CACHE" PC_TEST_DSN="$DSN" PC_TEST_BIN="$B" PC_TEST_CONF="$CONF"
export PC_TEST_W="$W" PC_TEST_DAEMON_PID="$DAEMON_PID"
# One file at a time: the event tests restart the daemon the others read.
(cd "$W/node" && pcnode --test --test-concurrency=1 --test-timeout=120000 test/*.test.js) >"$W/node-test.log" 2>&1 ||
    fail "node --test: $(grep -v '^ *at ' "$W/node-test.log" | grep -B4 -A25 'not ok' | head -80)"
tail -9 "$W/node-test.log"
grep -q '^# fail 0' "$W/node-test.log" || fail "node --test reported failures"
grep -q '^# pass [1-9]' "$W/node-test.log" || fail "node --test ran no test"
