#!/bin/sh
# deps-node.sh - fill npm's cache with the packages of
# bindings/node/package-lock.json (node-addon-api; typescript, @types/node,
# ioredis for the tests and benchmark), only when some are missing (quiet
# otherwise).  The scenario and bench.sh then install them with
# `npm ci --offline`: the registry is reached here, never during a test.
# Node.js itself (>= 18, with npm and its headers) is not installed here:
# Debian's nodejs is older than the machines' own Node.js 20.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
PKG="$HERE/bindings/node"
[ -f "$PKG/package-lock.json" ] || exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "deps: npm not found: the Node.js binding's tests need Node.js >= 18 with npm" >&2
    exit 0  # the binding_node scenario fails and says so
fi
T=$(mktemp -d /tmp/pcdeps-node.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$PKG/package.json" "$PKG/package-lock.json" "$T/"
cd "$T"
# --ignore-scripts: only the dependencies are wanted, not the addon built.
if ! npm ci --offline --ignore-scripts --no-audit --no-fund >/dev/null 2>&1; then
    echo "deps: npm: fetching bindings/node's packages into npm's cache"
    npm ci --prefer-offline --ignore-scripts --no-audit --no-fund >"$T/log" 2>&1 || {
        cat "$T/log" >&2
        exit 1
    }
    rm -rf node_modules
    npm ci --offline --ignore-scripts --no-audit --no-fund >"$T/log" 2>&1 || {
        echo "deps: npm's cache still misses packages after fetching them:" >&2
        cat "$T/log" >&2
        exit 1
    }
fi
# A project that installs the packed package (the binding_node scenario's
# consumer, as any user's project) resolves the ranges of its dependencies:
# that needs their packuments in the cache, which `npm ci` (exact
# versions from the lock file) never fetches: a fresh machine missed them.
mkdir "$T/consumer"
cd "$T/consumer"
echo '{"name":"consumer","version":"1.0.0","private":true}' >package.json
for spec in $(node -e 'const d = require(process.argv[1]).dependencies || {};
    console.log(Object.entries(d).map(([n, v]) => n + "@" + v).join(" "))' "$PKG/package.json"); do
    npm install --offline --dry-run --no-audit --no-fund "$spec" >/dev/null 2>&1 && continue
    echo "deps: npm: fetching $spec's packument into npm's cache"
    npm cache add "$spec" >"$T/log" 2>&1 || {
        cat "$T/log" >&2
        exit 1
    }
    npm install --offline --dry-run --no-audit --no-fund "$spec" >"$T/log" 2>&1 || {
        echo "deps: npm's cache still cannot resolve $spec offline:" >&2
        cat "$T/log" >&2
        exit 1
    }
done
