/* sdnotify.h - tell systemd (Type=notify) that pricecached is ready, what it does, that it lives and that it stops. */
#ifndef PCD_SDNOTIFY_H
#define PCD_SDNOTIFY_H

/* Every call is a no-op when the daemon does not run under systemd (no
 * NOTIFY_SOCKET in the environment), never fails the caller, and is safe
 * from any thread. */

/* READY=1: the daemon serves prices (warm-up done, or snapshots on disk).
 * Sent once; later calls do nothing, so it may be called on every pass of
 * the main loop. */
void pcd_sd_ready(void);

/* STATUS=...: one line that `systemctl status` shows. */
void pcd_sd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1: shutdown has begun. */
void pcd_sd_stopping(void);

/* How often, in ms, the main loop must call pcd_sd_watchdog: half of the
 * unit's WatchdogSec=, or 0 when no watchdog is asked for. */
int pcd_sd_watchdog_ms(void);

/* WATCHDOG=1 when due (at most every quarter of WatchdogSec=): call it on
 * every pass of the main loop, and wake at least every pcd_sd_watchdog_ms. */
void pcd_sd_watchdog(void);

#endif
