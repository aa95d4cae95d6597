#!/bin/sh
# check-layering.sh [DIR] - the daemon's files depend one way: fail on an
# include cycle between modules of DIR (default daemon/), and on a service
# file that includes one of the engine's headers.
#
# A module is a file's name without .c/.h; store_audit.c, store_int.h ...
# belong to module "store" (prefix before '_' when DIR/prefix.h exists), so
# a private header shared by one module's files is no cycle.  Engine files
# (see the map atop daemon/engine.h) may call services; services never call
# the engine.
set -eu
DIR=${1:-"$(dirname "$0")/../daemon"}
ENGINE="engine schedule notice jobs sync verbs run main"
pairs=$(mktemp)
loops=$(mktemp)
trap 'rm -f "$pairs" "$loops"' EXIT HUP INT TERM

module() {
    m=$(basename "$1"); m=${m%.[ch]}
    case $m in
    *_*) p=${m%%_*}; [ -f "$DIR/$p.h" ] && m=$p ;;
    esac
    printf '%s\n' "$m"
}

is_engine() {
    for e in $ENGINE; do [ "$1" = "$e" ] && return 0; done
    return 1
}

bad=0
for f in "$DIR"/*.c "$DIR"/*.h; do
    [ -f "$f" ] || continue
    from=$(module "$f")
    # Quoted includes that name a header of DIR.
    for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"/]*\.h\)".*/\1/p' "$f"); do
        [ -f "$DIR/$h" ] || continue
        to=$(module "$h")
        [ "$from" = "$to" ] && continue
        printf '%s %s\n' "$from" "$to" >> "$pairs"
        if is_engine "$to" && ! is_engine "$from"; then
            echo "layering: $(basename "$f") (a service) includes $h (the engine's); services never call the engine" >&2
            bad=1
        fi
    done
done
# Every module appears, even without edges.
for f in "$DIR"/*.c "$DIR"/*.h; do m=$(module "$f"); printf '%s %s\n' "$m" "$m" >> "$pairs"; done

if ! tsort "$pairs" > /dev/null 2> "$loops"; then
    echo "layering: include cycle among the modules of $DIR (each loop's members):" >&2
    sed 's/^tsort: .*input contains a loop:$/  loop:/; s/^tsort: /    /' "$loops" >&2
    bad=1
fi
if [ $bad -eq 0 ]; then
    n=$(awk '$1 != $2' "$pairs" | sort -u | wc -l)
    echo "layering: $n dependencies between the modules of $DIR, all one way"
fi
exit $bad
