# A chain deleted or deactivated in the source is removed from the cache.
seed_basic
sql "INSERT INTO chains VALUES ('gone'); INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES ('gone','g1',5)"
once
assert_eq $'5\t' "$(pc get gone '' g1 | cut -f1)"$'\t' "gone loaded"
sql "UPDATE chains SET active = false WHERE slug = 'beta'"
sql "DELETE FROM chain_prices WHERE chain_slug = 'gone'; DELETE FROM chains WHERE slug = 'gone'"
once
assert_exit 3 pc get beta '' b1
assert_exit 3 pc get gone '' g1
assert_exit 3 pc info beta
assert_eq 0 "$(pc dump acme >/dev/null; pc chains --tsv | grep -c '^beta')" "beta listed"
assert_exit 0 pc get acme '' item1
# back again: reloaded
sql "UPDATE chains SET active = true WHERE slug = 'beta'"
once
assert_exit 0 pc get beta '' b1
