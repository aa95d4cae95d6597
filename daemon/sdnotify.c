/* sdnotify.c - tell systemd (Type=notify) that pricecached is ready, what it does, that it lives and that it stops. */
#include "sdnotify.h"

/* Owns: READY=1, STATUS=, STOPPING=1, the watchdog.  May call: nothing of daemon/. */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static atomic_int ready_sent;
static atomic_llong last_ping_ms;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pcd_sd_ready(void)
{
    if (atomic_exchange(&ready_sent, 1) == 0)
        sd_notify(0, "READY=1");
}

void pcd_sd_status(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", line);
}

void pcd_sd_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

int pcd_sd_watchdog_ms(void)
{
    uint64_t usec = 0;
    /* > 0 only when WATCHDOG_USEC is set for this very process. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    uint64_t half = usec / 2000;
    return half < 1 ? 1 : half > INT32_MAX ? INT32_MAX : (int)half;
}

void pcd_sd_watchdog(void)
{
    int every = pcd_sd_watchdog_ms();
    if (every == 0)
        return;
    int64_t now = mono_ms(), last = atomic_load(&last_ping_ms);
    if (last && now - last < every / 2)
        return;
    atomic_store(&last_ping_ms, now);
    sd_notify(0, "WATCHDOG=1");
}
