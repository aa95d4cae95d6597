# Baskets through the CLI against a real daemon: one store, several stores,
# penalties, JSON, and invalid input.
seed_basic
once
printf 'item10 2\nitem11 1\nnope 1\n' | pc basket acme s1 >"$W/one.out" || true
cat "$W/one.out"
grep -q 'item10' "$W/one.out" || fail "single basket: $(cat "$W/one.out")"
# item10 at s1 = 1 (x2), item11 base 111, nope penalised 2 x avg (150) = 300 -> 413
grep -q '413' "$W/one.out" || fail "single basket total: $(cat "$W/one.out")"
printf 'item10 1\nitem20 1\n' | pc basket --json acme s1 s2 >"$W/multi.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["algorithm"]=="optimal", d; assert d["total_cents"]==2, d' "$W/multi.json" \
    || fail "multi basket: $(cat "$W/multi.json")"
assert_exit 3 sh -c "echo 'item1 1' | '$B/pricecache' -d '$CACHE' basket nosuch s1"
assert_exit 2 sh -c "echo 'item1 0' | '$B/pricecache' -d '$CACHE' basket acme s1"
assert_exit 2 sh -c "printf '' | '$B/pricecache' -d '$CACHE' basket acme s1"
