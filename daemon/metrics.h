/* metrics.h - the daemon's state as Prometheus text (names fixed by DESIGN.md) and as health answers. */
#ifndef PCD_METRICS_H
#define PCD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "view.h"

/* Prometheus text exposition format 0.0.4 of a view taken with
 * PCD_VIEW_CHAINS | PCD_VIEW_ENV.  malloc'ed, NUL-terminated;
 * NULL on ENOMEM. */
char *pcd_metrics_render(const pcd_view *v, size_t *len);

/* Health answers: fill `body` (JSON) and return the HTTP status.
 * live: the process answers.  startup: warm-up done.  ready: serving fresh
 * data (no breaker open, no snapshot older than max_age_s, database
 * reachable); once warm with the database unreachable, 503
 * {"status":"degraded","reason":"database unreachable","serving":"stale
 * snapshots","since":UNIX_S}. */
int pcd_health_live(const pcd_view *v, char *body, size_t len);
int pcd_health_startup(const pcd_view *v, char *body, size_t len);
int pcd_health_ready(const pcd_view *v, char *body, size_t len);

#endif
