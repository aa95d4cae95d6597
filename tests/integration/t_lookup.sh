# Lookup semantics: exception over base, base for an empty store, not found, unknown chain.
seed_basic
once
assert_eq $'1\t1700000000\tstore' "$(pc get acme s1 item10)" "store exception"
assert_eq $'110\t1700000010\tbase' "$(pc get acme '' item10)" "empty store asks for the base"
assert_eq $'110\t1700000010\tbase' "$(pc get acme s2 item10)" "store without exception"
assert_eq $'111\t1700000011\tbase' "$(pc get acme s1 item11)" "store without this exception"
assert_exit 1 pc get acme s1 nosuchitem
assert_exit 3 pc get nosuchchain s1 item10
assert_exit 2 pc get 'Bad Slug' s1 item10
assert_exit 2 pc get acme s1 "$(printf 'x%.0s' $(seq 201))"
assert_exit 2 pc get acme
printf 'item10\nitem11\nnope\n' | pc many acme s1 >"$W/many.out" || true
assert_eq $'item10\t1\t1700000000\tstore\nitem11\t111\t1700000011\tbase\nnope\tNOTFOUND' "$(cat "$W/many.out")" "many"
assert_exit 3 sh -c "echo item1 | '$B/pricecache' -d '$CACHE' many nosuch s1"
assert_eq 100 "$(info acme base_rows)" "base rows"
assert_eq 10 "$(info acme store_rows)" "store rows"
assert_eq 150 "$(info acme avg_cents)" "mean base price (100..199 -> 149.5 -> 150)"
assert_eq 110 "$(pc dump acme | wc -l)" "dump lines"
pc dump acme | grep -q $'^s1\titem10\t1\t1700000000$' || fail "dump lacks the store row"
pc chains --tsv | awk -F'\t' 'NR==1 && $1=="CHAIN" {h=1} $1=="beta" && $3=="10" {b=1} END {exit !(h && b)}' \
    || fail "chains --tsv: $(pc chains --tsv)"
