# malloc on transparent huge pages: in THP's madvise mode the daemon runs
# again with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, as the same
# process (signals reach it, it stops cleanly), and malloc's heap is
# advised huge pages (its VmFlags show "hg"); an administrator's own
# tunables are kept; PRICECACHED_MALLOC_THP=0, and a GLIBC_TUNABLES that
# already names the tunable, leave malloc as it is, without a second exec.
seed_basic
# The environment the process was executed with (the last exec's).
env_of() { tr '\0' '\n' <"/proc/$1/environ"; }
heap_flags() { awk '/\[heap\]$/ { h = 1 } h && /^VmFlags:/ { print; exit }' "/proc/$1/smaps"; }
# A sanitizer build's malloc is the sanitizer's: glibc's tunable moves no
# heap there, and the heap checks are skipped (the exec is still checked).
sanitized=""
ldd "$B/pricecached" 2>/dev/null | grep -Eq 'lib(a|t)san' && sanitized=1
if grep -q '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
    GLIBC_TUNABLES=glibc.malloc.tcache_count=7 start_daemon
    if [ -n "$sanitized" ]; then
        skip_part "sanitizer build: malloc's heap is not glibc's"
    else
        heap_flags "$DAEMON_PID" | grep -qw hg || fail "malloc's heap not on huge pages: $(heap_flags "$DAEMON_PID")"
    fi
    env_of "$DAEMON_PID" | grep -q '^PRICECACHED_MALLOC_THP_EXEC=1$' || fail "no second exec"
    # Its own name after the exec (ps, pgrep, systemd's status).
    assert_eq pricecached "$(cat "/proc/$DAEMON_PID/comm")"
    env_of "$DAEMON_PID" | grep -q '^GLIBC_TUNABLES=glibc.malloc.tcache_count=7' ||
        fail "the administrator's tunables were lost: $(env_of "$DAEMON_PID" | grep GLIBC_ || echo none)"
    v=$(info acme version)
    kill -USR1 "$DAEMON_PID"
    wait_until '[ "$(info acme version)" -gt "$v" ]' 10
    stop_daemon
    assert_exit 0 pc get acme s1 item10
else
    skip_part "THP is not in madvise mode here: only the opt-outs are checked"
fi
for opt in PRICECACHED_MALLOC_THP=0 GLIBC_TUNABLES=glibc.malloc.hugetlb=0; do
    env "$opt" true # the assignment is valid
    eval "$opt start_daemon"
    [ -z "$sanitized" ] && heap_flags "$DAEMON_PID" | grep -qw hg && fail "$opt: malloc's heap on huge pages all the same"
    env_of "$DAEMON_PID" | grep -q '^PRICECACHED_MALLOC_THP_EXEC=' && fail "$opt: executed a second time"
    stop_daemon
done
