/* log.h - JSON-lines logging on stderr, one object per line. */
#ifndef PCD_LOG_H
#define PCD_LOG_H

#include <stdatomic.h>

enum { PCD_LOG_ERROR = 0, PCD_LOG_WARN = 1, PCD_LOG_INFO = 2, PCD_LOG_DEBUG = 3 };

/* Atomic: SIGHUP changes it while every thread logs. */
extern atomic_int pcd_log_level;

/* Write {"ts":...,"level":...,"sub":...,"msg":...} to stderr.  `sub` names
 * the subsystem.  The level is checked before formatting.  Thread-safe (one
 * write(2) per line).  Never pass a DSN unredacted. */
void pcd_log_write(int level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pcd_log(level, sub, ...) \
    do { if ((level) <= pcd_log_level) pcd_log_write((level), (sub), __VA_ARGS__); } while (0)

#define LOG_ERR(sub, ...)  pcd_log(PCD_LOG_ERROR, sub, __VA_ARGS__)
#define LOG_WARN(sub, ...) pcd_log(PCD_LOG_WARN, sub, __VA_ARGS__)
#define LOG_INFO(sub, ...) pcd_log(PCD_LOG_INFO, sub, __VA_ARGS__)
#define LOG_DBG(sub, ...)  pcd_log(PCD_LOG_DEBUG, sub, __VA_ARGS__)

int pcd_log_level_parse(const char *s); /* -1 when unknown */

#endif
