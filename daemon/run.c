/* run.c - pricecached's life: start-up, the main loop (listings, due loads, heartbeats, control requests, signals), configuration reload, shutdown; and --migrate. */
#include "run.h"

/* Owns: the order of start-up and shutdown, the main thread's loop and
 * what each signal does.  May call: verbs, sync, jobs, notice, schedule,
 * engine, view, and the services (store, events, control, listen, http,
 * sdnotify, pgsource, migrate, config, dsn, log). */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "dsn.h"
#include "engine.h"
#include "events.h"
#include "http.h"
#include "jobs.h"
#include "listen.h"
#include "log.h"
#include "migrate.h"
#include "notice.h"
#include "pgsource.h"
#include "schedule.h"
#include "sdnotify.h"
#include "store.h"
#include "sync.h"
#include "verbs.h"

static int reload_config(engine *d, const char *file)
{
    cfg_node *node = calloc(1, sizeof *node);
    if (!node)
        return PC_ENOMEM;
    char err[1024];
    if (pcd_config_load(&node->cfg, file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s; keeping the configuration in force", err);
        pcd_config_free(&node->cfg);
        free(node);
        return PC_ECONFIG;
    }
    /* Before the new configuration is in force: a load that starts after
     * it reads from the sources it names. */
    pcd_sources_configure(d->sources, &node->cfg);
    pthread_mutex_lock(&d->mu);
    const pcd_config *old = cur_cfg(d);
    if (strcmp(old->path, node->cfg.path) != 0)
        LOG_WARN("config", "[cache] path changed; takes effect at the next restart");
    if (old->concurrency != node->cfg.concurrency)
        LOG_WARN("config", "[load] concurrency changed; takes effect at the next restart");
    if (strcmp(old->bus_events, node->cfg.bus_events) != 0 ||
        strcmp(old->bus_control, node->cfg.bus_control) != 0)
        LOG_WARN("config", "[bus] addresses changed; take effect at the next restart");
    if (strcmp(old->dsn, node->cfg.dsn) != 0)
        LOG_WARN("config", "[database] dsn changed: loads use it now; the LISTEN connection "
                 "moves at the next restart");
    if (strcmp(old->http_listen, node->cfg.http_listen) != 0)
        LOG_WARN("config", "[http] listen changed; takes effect at the next restart");
    node->older = d->cfgs;
    d->cfgs = node;
    d->cfg_gen++;
    d->conn_gen++;
    pcd_log_level = node->cfg.log_level;
    pcd_watch_set_warn(d->watch, node->cfg.reader_warn_s);
    pthread_mutex_unlock(&d->mu);
    LOG_INFO("config", "configuration %s re-read", file);
    return PC_OK;
}

static void shutdown_daemon(engine *d, const char *why)
{
    pthread_mutex_lock(&d->mu);
    int running = d->running, queued = 0;
    for (chain *c = d->qhead; c; c = c->qnext)
        queued++;
    d->stopping = 1;
    pthread_cond_broadcast(&d->work);
    pthread_mutex_unlock(&d->mu);
    LOG_INFO("daemon", "%s: stopping (%d loads running are cancelled, %d queued dropped)",
             why, running, queued);
    uint64_t one = 1;
    ssize_t wr = write(d->stop_fd, &one, sizeof one);
    (void)wr;
}

/* The HTTP server's view of the daemon (its thread). */
static int http_view(void *ctx, pcd_view *v)
{
    return pcd_engine_view(ctx, v, PCD_VIEW_CHAINS | PCD_VIEW_ENV);
}

/* Tell systemd how far the daemon is: READY=1 once warm-up is done, and a
 * STATUS= line whenever it changes (`last` keeps the one sent). */
static void sd_report(engine *d, char *last, size_t len)
{
    pcd_view v;
    pcd_engine_view(d, &v, 0);
    char line[160];
    pcd_view_status_line(&v, line, sizeof line);
    if (strcmp(line, last) != 0) {
        pcd_sd_status("%s", line);
        snprintf(last, len, "%s", line);
    }
    if (v.started)
        pcd_sd_ready();
}

/* A full map ends when the reader that pinned the old pages goes (or
 * another takes its place as the oldest): retry the chains whose publish
 * failed at once instead of at their backoff. */
static void map_full_retry(engine *d, int *was_full, uint32_t *pin, int64_t now)
{
    pcd_view_env env;
    pcd_watch_env(d->watch, &env);
    int full = pcd_store_map_full(d->store);
    if (full && !*was_full)
        *pin = env.oldest_txn_pid;
    *was_full = full;
    if (!full || env.oldest_txn_pid == *pin)
        return;
    LOG_INFO("cache", "map full: the oldest reader changed (pid %u -> %u); retrying the "
             "failed publishes now", *pin, env.oldest_txn_pid);
    *pin = env.oldest_txn_pid;
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next)
        if (c->active && !c->last_ok && c->state == PCD_CHAIN_IDLE && c->due_ms > now)
            c->due_ms = now;
    pthread_mutex_unlock(&d->mu);
}

/* Bytes free that count as space coming back after a disk-full failure:
 * a retry then runs at once instead of at its backoff (up to
 * breaker.reset_s); each retry that fails again measures from there. */
#define DISK_BACK_BYTES (1u << 20)

/* The disk filled under the cache: when the watcher sees the space back,
 * retry the chains whose publish failed now; when none waits (the failure
 * was a metadata write), the episode ends here. */
static void disk_full_retry(engine *d, int64_t now)
{
    if (!pcd_store_disk_full(d->store))
        return;
    pcd_store_disk ds;
    pcd_store_disk_state(d->store, &ds);
    pcd_view_env env;
    pcd_watch_env(d->watch, &env);
    /* Only a sample taken after the last failure: one from before the
     * disk filled would retry at every pass until the next sample. */
    if (!ds.full || env.disk_at_ms <= ds.fail_mono_ms ||
        env.disk_free < ds.free_at_fail + DISK_BACK_BYTES)
        return;
    int waiting = 0;
    pthread_mutex_lock(&d->mu);
    for (chain *c = d->chains; c; c = c->next) {
        if (!c->active || c->last_ok)
            continue;
        waiting++;
        if (c->state == PCD_CHAIN_IDLE && c->due_ms > now)
            c->due_ms = now;
    }
    pthread_mutex_unlock(&d->mu);
    LOG_INFO("cache", "disk full: %llu KiB free again (%llu KiB at the last failure); %s",
             (unsigned long long)(env.disk_free >> 10),
             (unsigned long long)(ds.free_at_fail >> 10),
             waiting ? "retrying the failed publishes now" : "nothing waits to be published");
    pcd_store_disk_back(d->store, env.disk_free, !waiting);
}

int pcd_run(const char *config_file, int mode, int sig_fd)
{
    engine dd, *d = &dd;
    int init = pcd_engine_init(d);
    srand((unsigned)(pc_now_ms() ^ getpid()));

    char err[1024];
    if (init != PC_OK) {
        fprintf(stderr, "pricecached: out of resources\n");
        pcd_engine_free(d);
        return PCD_EXIT_RUNTIME;
    }
    if (pcd_config_load(&d->cfgs->cfg, config_file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s", err);
        pcd_engine_free(d);
        return PCD_EXIT_USAGE;
    }
    const pcd_config *cfg = cur_cfg(d);
    pcd_log_level = cfg->log_level;
    char *red = pcd_dsn_redact(cfg->dsn);
    LOG_INFO("daemon", "pricecached %s starting (%s mode): cache %s, database \"%s\", "
             "concurrency %d, timeout %d s, refresh %d s", PC_VERSION,
             mode == PCD_MODE_ONCE ? "once" : "foreground", cfg->path, red ? red : "?",
             cfg->concurrency, cfg->timeout_s, cfg->refresh_s);
    free(red);

    int rc = pcd_sources_new(cfg, &d->sources);
    if (rc != PC_OK) {
        LOG_ERR("daemon", "cannot set up the sources: %s", pc_strerror(rc));
        pcd_engine_free(d);
        return PCD_EXIT_RUNTIME;
    }
    if (pcd_sources_replicated(d->sources)) {
        pcd_source_view sv[PCD_SRC_MAX];
        size_t nsv = 0;
        pcd_sources_view(d->sources, PCD_SRC_UNKNOWN, sv, &nsv);
        for (size_t i = 1; i < nsv; i++)
            LOG_INFO("sources", "source %s: %s (max_lag_s %d, replica_wait_ms %d, "
                     "lag_sample_ms %d)", sv[i].name, sv[i].where, cfg->max_lag_s,
                     cfg->replica_wait_ms, cfg->lag_sample_ms);
    }

    rc = pcd_store_open(cfg, &d->store, err, sizeof err);
    if (rc != PC_OK) {
        LOG_ERR("cache", "%s", err);
        pcd_sources_free(d->sources);
        d->sources = NULL;
        pcd_engine_free(d);
        return PCD_EXIT_RUNTIME;
    }

    /* Not fatal: the figures and stale-reader warnings are missing, the
     * cache is served. */
    if (mode != PCD_MODE_ONCE &&
        pcd_watch_start(d->store, 1000, cfg->reader_warn_s, &d->watch) != PC_OK)
        LOG_ERR("cache", "cannot start the environment watcher; reader and map figures are off");

    if (mode != PCD_MODE_ONCE && cfg->bus_events[0]) {
        /* Not fatal: readers do not need the bus; the log says why. */
        if (pcd_events_open(cfg->bus_events, &d->events, err, sizeof err) != PC_OK)
            LOG_ERR("bus", "%s; events are off", err);
        else
            LOG_INFO("bus", "bus: events on %s", cfg->bus_events);
    }

    pcd_control *control = NULL;
    if (mode != PCD_MODE_ONCE && cfg->bus_control[0]) {
        pcd_control_ops ops;
        pcd_verbs_ops(d, &ops);
        /* Not fatal: the cache is served without it; the log says why. */
        if (pcd_control_open(cfg->bus_control, &ops, &control, err, sizeof err) != PC_OK)
            LOG_ERR("bus", "%s; the control channel is off", err);
        else
            LOG_INFO("bus", "bus: control on %s", cfg->bus_control);
    }
    if (mode != PCD_MODE_ONCE &&
        pcd_store_put_endpoints(d->store, d->events ? cfg->bus_events : "",
                                control ? cfg->bus_control : "") != PC_OK)
        LOG_WARN("cache", "cannot record the bus addresses for tools");

    /* A restart serves what is on disk at once: ready if there is any. */
    char **cached = NULL;
    size_t ncached = 0;
    pcd_store_list_chains(d->store, &cached, &ncached);
    if (pcd_store_get_daemon(d->store, &d->drec) != PC_OK)
        memset(&d->drec, 0, sizeof d->drec);
    d->drec.started_ms = pc_now_ms();
    d->drec.db_state = PC_DB_UNKNOWN; /* what the last run saw is no observation of this one */
    d->drec.db_since_ms = 0;
    d->drec.db_error[0] = 0;
    d->drec.state = PC_DAEMON_STARTING;
    d->drec.ready = 0;
    d->drec.ready_ms = 0;
    if (ncached > 0) {
        d->ready = 1;
        LOG_INFO("daemon", "serving %zu chains from the cache on disk while they reload", ncached);
        for (size_t i = 0; i < ncached; i++) {
            chain *c = pcd_chain_add(d, cached[i]);
            if (c)
                c->active = 1; /* until a listing of the source says otherwise */
            /* Heartbeats from the start, even for a chain that will send no
             * event (its breaker open on disk): subscribers of the last run
             * see the new run on it and resync. */
            pc_meta_rec m;
            if (d->events && pcd_store_get_meta(d->store, cached[i], &m) == PC_OK)
                pcd_events_track(d->events, cached[i], m.version);
        }
    }
    pcd_strv_free(cached, ncached);
    pcd_engine_write_daemon(d);
    if (pcd_engine_recorder_start(d) != PC_OK)
        LOG_WARN("daemon", "cannot start the record writer; the daemon record is written inline");

    /* Not fatal: without the sampler no replica is ever judged up, and
     * every read goes to the primary. */
    if (pcd_sources_start(d->sources, d->stop_fd) != PC_OK)
        LOG_ERR("sources", "cannot start the replica sampler; reading from the primary only");
    rc = pcd_jobs_start(d, cfg->concurrency);
    if (rc == PC_ENOMEM) {
        uint64_t one = 1;
        ssize_t wr = write(d->stop_fd, &one, sizeof one); /* ends the sampler */
        (void)wr;
        pcd_sources_free(d->sources);
        d->sources = NULL;
        pcd_engine_recorder_stop(d);
        pcd_watch_stop(d->watch);
        pcd_events_close(d->events);
        pcd_control_close(control);
        pcd_store_close(d->store);
        pcd_engine_free(d);
        return PCD_EXIT_RUNTIME;
    }
    int all_started = rc == PC_OK;

    pcd_listing_conn ctl = { 0 };
    int exit_code = PCD_EXIT_OK;
    int listing_failed = 0;
    int sync_backoff = 1000;
    int64_t next_sync = pc_mono_ms(); /* now */
    const char *why = "done";
    int synced_once = 0;
    int64_t last_beat = 0;
    int64_t last_stats = pc_mono_ms(); /* when dead readers' statistics files were last folded */
    char sd_line[160] = "";

    pcd_listen *lis = NULL;
    if (mode != PCD_MODE_ONCE && all_started &&
        pcd_listen_start(cfg, d->stop_fd, pcd_notice_on, pcd_engine_db_seen, d, d->sources,
                         &lis) != PC_OK)
        LOG_ERR("listen", "cannot start the listener thread; changes arrive with the refresh only");
    pcd_http *http = NULL;
    if (mode != PCD_MODE_ONCE && all_started && cfg->http_listen[0]) {
        char herr[512];
        /* Not fatal: prices are served without it; the log says why. */
        if (pcd_http_start(cfg->http_listen, http_view, d, &http, herr, sizeof herr) != PC_OK)
            LOG_ERR("http", "%s; metrics and health probes are off", herr);
        else
            LOG_INFO("http", "http: serving /metrics, /livez, /startupz, /readyz on %s",
                     cfg->http_listen);
    }

    uint32_t full_pin = 0; /* the oldest reader's pid when the map filled */
    int was_full = 0;
    while (all_started) {
        int64_t now = pc_mono_ms();
        atomic_store(&d->loop_ms, now);
        if (mode != PCD_MODE_ONCE) {
            map_full_retry(d, &was_full, &full_pin, now);
            disk_full_retry(d, now);
        }
        pthread_mutex_lock(&d->mu);
        if (d->sync_asked) {
            d->sync_asked = 0;
            next_sync = now;
        } else if (now >= next_sync && synced_once) {
            d->agg.invalidations[PCD_INV_REFRESH]++;
        }
        pthread_mutex_unlock(&d->mu);
        if (now >= next_sync) {
            rc = pcd_sync_chains(d, &ctl);
            cfg = cur_cfg(d);
            if (rc == PC_OK) {
                synced_once = 1;
                sync_backoff = 1000;
                next_sync = cfg->refresh_s > 0 ? now + (int64_t)cfg->refresh_s * 1000
                                               : INT64_MAX;
            } else if (mode == PCD_MODE_ONCE) {
                listing_failed = 1;
                break;
            } else {
                next_sync = now + sync_backoff / 2 + rand() % (sync_backoff / 2 + 1);
                sync_backoff = sync_backoff * 2 > 10000 ? 10000 : sync_backoff * 2;
            }
        }
        if (mode != PCD_MODE_ONCE)
            pcd_sched_queue_due(d, now); /* --once makes one attempt per chain */
        pthread_mutex_lock(&d->mu);
        pcd_sync_check_warm(d);
        pcd_engine_note_state(d);
        pcd_engine_note_sources(d);
        pthread_mutex_unlock(&d->mu);
        pcd_sync_reap(d);
        if (mode == PCD_MODE_ONCE && synced_once && pcd_sched_idle(d))
            break;
        if (mode != PCD_MODE_ONCE)
            sd_report(d, sd_line, sizeof sd_line);
        /* WATCHDOG=1 only while the engine progresses: this loop passes
         * (it is here) and no write has held the store beyond stall_s (a
         * writer stuck on LMDB's lock); systemd restarts a daemon that
         * stops pinging. */
        if (pcd_store_busy_ms(d->store) < (int64_t)cur_cfg(d)->health_stall_s * 1000)
            pcd_sd_watchdog();

        if (d->events && pc_mono_ms() - last_beat >= 1000) {
            pcd_view hv;
            pcd_engine_view(d, &hv, 0);
            int blocked = pcd_view_store_blocked_s(&hv);
            char alarm[sizeof hv.lock_error] = "";
            if (blocked)
                snprintf(alarm, sizeof alarm, "store blocked for %d s", blocked);
            else if (hv.lock_corrupt)
                snprintf(alarm, sizeof alarm, "%s", hv.lock_error);
            else if (hv.disk_full)
                snprintf(alarm, sizeof alarm, "disk full");
            else if (hv.map_full)
                snprintf(alarm, sizeof alarm, "map full");
            pcd_events_alarms(d->events, (hv.map_full ? PC_HB_MAP_FULL : 0) |
                                             (hv.disk_full ? PC_HB_DISK_FULL : 0) |
                                             (blocked ? PC_HB_STORE_BLOCKED : 0) |
                                             (hv.lock_corrupt ? PC_HB_LOCK_CORRUPT : 0), alarm);
            pcd_events_heartbeat(d->events);
            last_beat = pc_mono_ms();
        }
        if (pc_mono_ms() - last_stats >= 10000) {
            /* Scrapes fold them too; without any, the directory still
             * stays about one file per live reader. */
            pc_stats ls;
            pcd_store_lookups(d->store, &ls, NULL);
            last_stats = pc_mono_ms();
        }
        int64_t wake = pcd_sched_next_due(d, next_sync);
        if (d->events && wake > last_beat + 1000)
            wake = last_beat + 1000;
        int64_t wait = wake - pc_mono_ms();
        if (mode == PCD_MODE_ONCE)
            wait = 200; /* retries are not waited for in --once */
        if (wait < 0)
            wait = 0;
        if (wait > PCD_LOOP_PASS_MS)
            wait = PCD_LOOP_PASS_MS; /* a pass a second at least: the progress stamp */
        if (pcd_sd_watchdog_ms() > 0 && wait > pcd_sd_watchdog_ms() / 2)
            wait = pcd_sd_watchdog_ms() / 2; /* pcd_sd_watchdog pings at most every quarter */
        struct pollfd pf[3] = { { d->done_fd, POLLIN, 0 }, { sig_fd, POLLIN, 0 },
                                { control ? pcd_control_fd(control) : -1, POLLIN, 0 } };
        int np = poll(pf, 3, (int)wait); /* poll skips negative descriptors */
        if (np > 0 && (pf[2].revents & POLLIN))
            pcd_control_serve(control);
        if (np < 0 && errno != EINTR) {
            LOG_ERR("daemon", "poll: %s", strerror(errno));
            exit_code = PCD_EXIT_RUNTIME;
            break;
        }
        if (np > 0 && (pf[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t rd = read(d->done_fd, &v, sizeof v);
            (void)rd;
        }
        if (np > 0 && sig_fd >= 0 && (pf[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                    why = si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
                    break;
                } else if (si.ssi_signo == SIGHUP) {
                    reload_config(d, config_file);
                    cfg = cur_cfg(d);
                } else if (si.ssi_signo == SIGUSR1) {
                    LOG_INFO("daemon", "SIGUSR1: reloading every chain");
                    pthread_mutex_lock(&d->mu);
                    d->agg.invalidations[PCD_INV_SIGNAL]++;
                    pthread_mutex_unlock(&d->mu);
                    next_sync = 0;
                }
            }
        }
    }

    if (mode == PCD_MODE_ONCE && strcmp(why, "done") == 0)
        why = "--once";
    if (mode != PCD_MODE_ONCE) {
        pcd_sd_status("stopping (%s)", why);
        pcd_sd_stopping();
    }
    shutdown_daemon(d, why);
    pcd_jobs_join(d);
    pcd_listen_stop(lis);
    pcd_http_stop(http);
    pcd_control_close(control);
    pcd_events_close(d->events);
    pcd_watch_stop(d->watch);
    d->watch = NULL;
    pcd_engine_recorder_stop(d);
    pcd_pg_close(ctl.conn);
    pcd_sources_free(d->sources); /* its sampler ended with stop_fd */
    d->sources = NULL;

    if (mode == PCD_MODE_ONCE && (listing_failed || d->failures > 0))
        exit_code = PCD_EXIT_FAILED;
    if (!all_started)
        exit_code = PCD_EXIT_RUNTIME;
    d->drec.state = PC_DAEMON_STOPPED;
    pcd_engine_write_daemon(d);
    pcd_store_close(d->store);
    LOG_INFO("daemon", "stopped: every write transaction committed or aborted, cache closed "
             "cleanly (exit %d)", exit_code);
    pcd_engine_free(d);
    return exit_code;
}

int pcd_run_migrate(const char *config_file)
{
    pcd_config cfg;
    char err[1024];
    if (pcd_config_load(&cfg, config_file, err, sizeof err) != PC_OK) {
        LOG_ERR("config", "%s", err);
        pcd_config_free(&cfg);
        return PCD_EXIT_USAGE;
    }
    pcd_log_level = cfg.log_level;
    pg_conn *conn = NULL;
    int rc = pcd_pg_connect(&cfg, &conn, err, sizeof err);
    int applied = 0;
    if (rc == PC_OK)
        rc = pcd_migrate(conn, &applied, err, sizeof err);
    if (conn)
        pcd_pg_close(conn);
    pcd_config_free(&cfg);
    if (rc != PC_OK) {
        LOG_ERR("migrate", "migration failed: %s", err);
        return PCD_EXIT_RUNTIME;
    }
    LOG_INFO("migrate", "schema up to date (%d migrations applied now)", applied);
    return PCD_EXIT_OK;
}
