# top.sh - drive pricecache-top inside tmux (sourced by tests/integration/t_top_*.sh).
# One tmux server per scenario (-L, unique name); every wait polls the screen
# with a deadline, never a fixed sleep.  The server and the console go into
# $W/pids, which the harness kills when a scenario ends.
TOP_SOCK="pctop-$$-$RANDOM"

tm() { tmux -L "$TOP_SOCK" "$@"; }

# top_start [ARGS...]: the console in a TOP_W x TOP_H window (default 100x30),
# TOP_ENV in its environment, TOP_WRAP before it (e.g. setpriv ... --).
# tmux runs the command through /bin/sh: every path in it is single-quoted
# (shq), the word lists TOP_WRAP, TOP_ENV and the arguments are split as
# written.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
top_start() {
    local cmd
    cmd="exec ${TOP_WRAP:-} env TERM=${TOP_TERM:-screen} ${TOP_ENV:-} $(shq "$B/pricecache-top") -D $(shq "$CACHE") $* 2>>$(shq "$W/top.err")"
    tm -f /dev/null new-session -d -x "${TOP_W:-100}" -y "${TOP_H:-30}" "$cmd"
    tm display -p '#{pid}' >>"$W/pids"
    TOP_PID=$(tm display -p '#{pane_pid}')
    echo "$TOP_PID" >>"$W/pids"
}

top_stop() { tm kill-server 2>/dev/null || true; }

screen() { tm capture-pane -p; }

# wait_screen ERE [seconds]: until a line of the screen matches; on timeout
# the scenario fails with the screen it last saw.
wait_screen() {
    local want=$1 n=$((${2:-10} * 20)) i=0
    while ! screen | grep -qE -- "$want"; do
        i=$((i + 1))
        [ $i -ge $n ] && fail "timed out after ${2:-10}s waiting for /$want/ on the screen:
$(screen)"
        sleep 0.05
    done
}

keys() { tm send-keys "$@"; }

# The screen's line (1-based) N.
screen_line() { screen | sed -n "${1}p"; }
