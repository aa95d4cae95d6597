# pricecache - top-level GNU Makefile.
#   make            build everything into $(B)
#   make check      unit + integration tests (installs missing Debian packages)
#   make check-fleet  the fleet scenarios: replicas, lag, failover (issue 14)
#   make bench      benchmarks (see tests/bench/); make bench-fleet: a fleet of appliances
#   make demo       throwaway PostgreSQL + daemon + CLI
#   make install    PREFIX=/usr/local DESTDIR=
#   SAN=asan|tsan   sanitizer build in build/$(SAN); CC=clang works too; V=1 verbose

VERSION := $(shell cat VERSION)
SAN     ?=
B       ?= build$(if $(SAN),/$(SAN))
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PCDIR   ?= $(LIBDIR)/pkgconfig

CC      ?= cc
WARN    ?= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wvla
OPT     ?= -O2 -g
STD     ?= -std=c11 -D_GNU_SOURCE
SANFLAGS_asan = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANFLAGS_tsan = -fsanitize=thread -fno-omit-frame-pointer
SANFLAGS_fuzz = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANFLAGS := $(SANFLAGS_$(SAN))
CFLAGS  ?=
CPPFLAGS += -Iinclude -DPC_VERSION=\"$(VERSION)\"
# include/ holds only what is installed (pricecache.h).  The layouts the
# daemon and the library share (on-disk records, bus messages, statistics
# area) are private to them: private-layout/ is on their include path and
# on nobody else's.  The CLI and the console see include/ alone, so they
# can only use the public API (a scenario builds them against a staged
# install to prove it).
PRIV_CPPFLAGS = -Iprivate-layout
ALL_CFLAGS = $(STD) $(WARN) $(OPT) $(SANFLAGS) -fPIC -fvisibility=hidden -pthread -MMD -MP $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS = $(SANFLAGS) -pthread $(LDFLAGS)

PG_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
PG_LIBS   := $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)
LMDB_LIBS := -llmdb
INI_LIBS  := -linih
NN_LIBS   := -lnanomsg
NETTLE_LIBS := -lnettle
CURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
CMOCKA_LIBS := -lcmocka

ifeq ($(V),1)
Q :=
else
Q := @
endif

CLIENT_SRC := $(sort $(wildcard client/*.c))
DAEMON_SRC := $(filter-out daemon/main.c,$(sort $(wildcard daemon/*.c)))
CLI_SRC    := $(sort $(wildcard cli/*.c))
TUI_SRC    := $(sort $(wildcard tui/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC  := $(sort $(wildcard tests/bench/*.c))
ITEST_SRC  := $(sort $(wildcard tests/integration/*.c))
SQL_SRC    := $(sort $(wildcard sql/*.sql))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIB_A   := $(B)/libpricecache.a
LIB_SO  := $(B)/libpricecache.so.1
LIBPCD  := $(B)/libpcd.a
DAEMON  := $(B)/pricecached
CLI     := $(B)/pricecache
TUI     := $(if $(TUI_SRC),$(B)/pricecache-top)
UNITS   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BENCHES := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
ITESTS  := $(patsubst tests/integration/%.c,$(B)/itest/%,$(ITEST_SRC))
GEN_MIG := $(B)/gen/migrations.c

.PHONY: all check unit integration bench demo install clean deps
all: $(LIB_A) $(LIB_SO) $(B)/libpricecache.so $(DAEMON) $(CLI) $(TUI) $(B)/pricecache.pc $(UNITS) $(BENCHES) $(ITESTS)

# Per directory: what each part may include besides include/.
$(B)/obj/client/%.o: XCPPFLAGS = $(PRIV_CPPFLAGS)
$(B)/obj/daemon/%.o: XCPPFLAGS = $(PRIV_CPPFLAGS) -I$(B)/gen $(PG_CFLAGS)
$(B)/obj/cli/%.o:    XCPPFLAGS =
$(B)/obj/tui/%.o:    XCPPFLAGS =

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(XCPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Tests and benchmarks reach the private layouts, the library's private
# headers and the daemon's internal ones.
$(B)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(PRIV_CPPFLAGS) -Iclient -Idaemon -I$(B)/gen $(PG_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(GEN_MIG): scripts/embed-sql.sh $(SQL_SRC)
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-sql.sh $(SQL_SRC) > $@.tmp && mv $@.tmp $@

$(B)/obj/gen/migrations.o: $(GEN_MIG)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PRIV_CPPFLAGS) $(ALL_CFLAGS) -Idaemon -c -o $@ $<

$(LIB_A): $(call obj,$(CLIENT_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(call obj,$(CLIENT_SRC)) client/libpricecache.map
	$(Q)$(CC) -shared -Wl,-soname,libpricecache.so.1 -Wl,--version-script=client/libpricecache.map \
	    -Wl,-z,defs -o $@ $(call obj,$(CLIENT_SRC)) $(ALL_LDFLAGS) $(LMDB_LIBS) $(NN_LIBS) $(NETTLE_LIBS)

$(B)/libpricecache.so: $(LIB_SO)
	$(Q)ln -sf libpricecache.so.1 $@

$(LIBPCD): $(call obj,$(DAEMON_SRC)) $(B)/obj/gen/migrations.o
	$(Q)rm -f $@ && ar rcs $@ $^

DAEMON_LIBS = $(LIBPCD) $(LIB_A) $(PG_LIBS) $(LMDB_LIBS) $(INI_LIBS) $(NN_LIBS) $(NETTLE_LIBS) -lmicrohttpd -lsystemd -lm

$(DAEMON): $(B)/obj/daemon/main.o $(LIBPCD) $(LIB_A)
	$(Q)$(CC) -o $@ $< $(ALL_LDFLAGS) $(DAEMON_LIBS)

$(CLI): $(call obj,$(CLI_SRC)) $(LIB_A)
	$(Q)$(CC) -o $@ $(call obj,$(CLI_SRC)) $(ALL_LDFLAGS) $(LIB_A) $(LMDB_LIBS) $(NN_LIBS) $(NETTLE_LIBS) -lm

$(B)/pricecache-top: $(call obj,$(TUI_SRC)) $(LIB_A)
	$(Q)$(CC) -o $@ $(call obj,$(TUI_SRC)) $(ALL_LDFLAGS) $(LIB_A) $(LMDB_LIBS) $(NN_LIBS) $(NETTLE_LIBS) $(CURSES_LIBS) -lm

# The console's unit test links its objects (all but main.c), and curses.
LIBTUI := $(B)/libtui.a
$(LIBTUI): $(call obj,$(filter-out tui/main.c,$(TUI_SRC)))
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tests/test_tui: $(B)/obj/tests/unit/test_tui.o $(LIBTUI) $(LIB_A)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(ALL_LDFLAGS) $(LIBTUI) $(LIB_A) $(LMDB_LIBS) $(NN_LIBS) $(NETTLE_LIBS) $(CURSES_LIBS) $(CMOCKA_LIBS) -lm

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIBPCD) $(LIB_A)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(ALL_LDFLAGS) $(DAEMON_LIBS) $(CMOCKA_LIBS)

# bench_rtt also times a round trip to Redis.
$(B)/bench/bench_rtt: BENCH_LIBS = -lhiredis

# The fleet bench's probe reads through the public API alone: include/ and
# the shared library (libpq only for its writer), as an application would.
$(B)/bench/fleet_fanout: tests/bench/fleet_fanout.c include/pricecache.h $(LIB_SO) $(B)/libpricecache.so
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(STD) $(WARN) $(OPT) $(SANFLAGS) -pthread -Iinclude $(PG_CFLAGS) $(CFLAGS) -o $@ $< \
	    $(ALL_LDFLAGS) -L$(B) -lpricecache $(PG_LIBS) -Wl,-rpath,'$$ORIGIN/..'

$(B)/bench/%: $(B)/obj/tests/bench/%.o $(LIBPCD) $(LIB_A)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(ALL_LDFLAGS) $(DAEMON_LIBS) $(BENCH_LIBS)

$(B)/itest/%: $(B)/obj/tests/integration/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(ALL_LDFLAGS) $(LIB_A) $(LMDB_LIBS) $(NN_LIBS) $(NETTLE_LIBS) -lm

$(B)/pricecache.pc: packaging/common/pricecache.pc.in VERSION $(B)/install-dirs
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' $< > $@

deps:
	$(Q)sh scripts/deps.sh

unit: all
	$(Q)sh tests/run-unit.sh $(B)

integration: all
	$(Q)bash tests/integration/run.sh $(B)

# The one test command: unit tests, then integration scenarios against a real
# PostgreSQL started by the harness.
check: deps
	$(Q)sh scripts/check-layering.sh daemon
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/run-all.sh $(B)

# make check-fleet: the fleet scenarios (issue 14, tests/integration/t_fleet_*.sh),
# each with one or two streaming replicas of the harness's PostgreSQL
# (tests/lib/pgrepl.sh); apart from make check, which they would lengthen
# by a replica cluster each.  Bounded: a few minutes.
FLEET_SCENARIOS := $(patsubst tests/integration/t_%.sh,%,$(sort $(wildcard tests/integration/t_fleet_*.sh)))
.PHONY: check-fleet bench-fleet
check-fleet: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/integration/run.sh $(B) $(FLEET_SCENARIOS)

# make bench-fleet: N appliances against one primary and two replicas,
# replicas off and on side by side (tests/bench/fleet.sh); build/bench/fleet.txt.
bench-fleet: deps
	$(Q)$(MAKE) --no-print-directory all OPT="-O2 -g -DNDEBUG"
	$(Q)bash tests/bench/fleet.sh $(B)

# make fuzz: every libFuzzer target of tests/fuzz/ (clang, ASan+UBSan) for
# FUZZ_SECONDS each, from its seed corpus; fails on a crash, leak or timeout.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS  := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))

$(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $(LIBPCD) $(LIB_A)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -fsanitize=fuzzer -o $@ $< $(ALL_LDFLAGS) $(DAEMON_LIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZERS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory CC=clang SAN=fuzz B=build/fuzz fuzz-build
	$(Q)sh tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all OPT="-O2 -g -DNDEBUG"
	$(Q)bash tests/bench/run.sh $(B)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/demo.sh $(B)

# make install: programs, library, header, pkg-config file, man pages, the
# Prometheus rules and the Grafana dashboard.
# make install-service: the systemd unit, sysusers.d and tmpfiles.d entries
# and the configuration file (kept if present), for packages and by hand.
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share
# The Prometheus rules and the Grafana dashboard (contrib/), for operators to
# load into their monitoring: see README, "Alerts and dashboard".
PCDATADIR   ?= $(DATADIR)/pricecache
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MAN_PAGES   := pricecache.1 pricecached.8 pricecached.conf.5 libpricecache.3 pc_admin.3 \
               $(if $(TUI),pricecache-top.1)

.PHONY: install-man install-service deps-packaging deb rpm check-packages
install: $(LIB_A) $(LIB_SO) $(DAEMON) $(CLI) $(TUI) $(B)/pricecache.pc install-man
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCDIR)" "$(DESTDIR)$(PCDIR)"
	install -m 0755 $(DAEMON) "$(DESTDIR)$(SBINDIR)/pricecached"
	install -m 0755 $(CLI) "$(DESTDIR)$(BINDIR)/pricecache"
	$(if $(TUI),install -m 0755 $(TUI) "$(DESTDIR)$(BINDIR)/pricecache-top")
	install -m 0644 $(LIB_A) "$(DESTDIR)$(LIBDIR)/libpricecache.a"
	install -m 0755 $(LIB_SO) "$(DESTDIR)$(LIBDIR)/libpricecache.so.1"
	ln -sf libpricecache.so.1 "$(DESTDIR)$(LIBDIR)/libpricecache.so"
	install -m 0644 include/pricecache.h "$(DESTDIR)$(INCDIR)/pricecache.h"
	install -m 0644 $(B)/pricecache.pc "$(DESTDIR)$(PCDIR)/pricecache.pc"
	install -d "$(DESTDIR)$(PCDATADIR)"
	install -m 0644 contrib/prometheus/pricecache-alerts.yml "$(DESTDIR)$(PCDATADIR)/pricecache-alerts.yml"
	install -m 0644 contrib/grafana/pricecache.json "$(DESTDIR)$(PCDATADIR)/pricecache-dashboard.json"

# make stage STAGE=DIR: the library, header, pkg-config file and programs
# installed under DIR with PREFIX=/usr, as a package would lay them out.
# The bindings build and test against it (pkg-config with
# PKG_CONFIG_SYSROOT_DIR=DIR, LD_LIBRARY_PATH=DIR/usr/lib).  The harness
# passes a DIR under /tmp: cgo and pkg-config do not survive a space.
STAGE ?= $(B)/stage
.PHONY: stage
stage:
	$(Q)$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR="$(STAGE)" >/dev/null

install-man:
	for m in $(MAN_PAGES); do \
	    install -D -m 0644 packaging/man/$$m "$(DESTDIR)$(MANDIR)/man$${m##*.}/$$m" || exit 1; \
	done

# Files that embed install paths are remade when a path changes.
INSTALL_DIRS = $(PREFIX) $(LIBDIR) $(INCDIR) $(SBINDIR) $(SYSCONFDIR)
$(B)/install-dirs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_DIRS)' | cmp -s - $@ || echo '$(INSTALL_DIRS)' > $@
.PHONY: FORCE

$(B)/pricecached.service: packaging/common/pricecached.service.in $(B)/install-dirs
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

install-service: $(B)/pricecached.service
	install -D -m 0644 $(B)/pricecached.service $(DESTDIR)$(UNITDIR)/pricecached.service
	install -D -m 0644 packaging/common/pricecache.sysusers $(DESTDIR)$(SYSUSERSDIR)/pricecache.conf
	install -D -m 0644 packaging/common/pricecache.tmpfiles $(DESTDIR)$(TMPFILESDIR)/pricecache.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/pricecache/pricecached.conf || \
	    install -D -m 0644 packaging/common/pricecached.conf $(DESTDIR)$(SYSCONFDIR)/pricecache/pricecached.conf

# Packages, built from a staging copy of this tree into build/deb and
# build/rpm (see packaging/); `scripts/deps.sh packaging` installs the tools.
deps-packaging:
	$(Q)sh scripts/deps.sh packaging

deb: deps-packaging
	$(Q)sh packaging/deb/build.sh

rpm: deps-packaging
	$(Q)sh packaging/rpm/build.sh

# Build, lint, install, run, upgrade and purge the packages (needs root; CI).
check-packages: deps-packaging
	$(Q)bash packaging/check-packages.sh

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
