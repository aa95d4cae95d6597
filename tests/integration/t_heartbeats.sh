# Heartbeats with many chains: every chain gets one within a round of
# ceil(n/128) seconds even for a subscriber that never falls behind; sent
# as one burst of n per second, the same chains lost theirs round after
# round once n outgrew the socket buffer (seen with 1,000 chains).
sql "INSERT INTO chains(slug) SELECT 'h' || g FROM generate_series(1, 600) g;
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'h' || g, 'i', g FROM generate_series(1, 600) g;"
EV="ipc://$W/events.ipc"
printf '[bus]\nevents = %s\n[load]\nconcurrency = 4\n' "$EV" >>"$CONF"
start_daemon
# 600 chains: a round is 5 s; two rounds and some slack
pc events -a "$EV" -t 13000 --heartbeats >"$W/beats.out" 2>"$W/beats.err" || true
seen=$(awk '$2 == "heartbeat" && $3 ~ /^h[0-9]+$/ { print $3 }' "$W/beats.out" | sort -u | wc -l)
assert_eq 600 "$seen" "chains that had a heartbeat in 13 s"
# and the beats are spread: never more than 128 chains (+ "*") in one second
maxsec=$(awk '$2 == "heartbeat" { print substr($1, 1, 19) }' "$W/beats.out" | sort | uniq -c |
         sort -rn | head -1 | awk '{ print $1 }')
[ "${maxsec:-0}" -le 129 ] || fail "$maxsec heartbeats in one second"
stop_daemon
