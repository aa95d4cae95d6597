/* statsdir.c - the daemon's side of the lookup statistics directory: make it, read every process file with pread, reject and log bad ones, fold dead processes' counts into the totals. */
#include "statsdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pc_stats_internal.h"

#define DOT_STALE_S   600 /* a dot-name this old is a crashed writer's leftover */
#define LOGS_PER_SCAN 10  /* rejections logged per scan; the rest are counted */

/* What the daemon remembers of one process file. */
typedef struct known {
    char           *name;
    uint64_t        dev, ino;
    int             have;     /* max holds a valid reading of this inode */
    int             fold;     /* dead: fold and remove in this scan */
    int             gone;     /* junk removed in this scan (nothing to fold) */
    int             stuck;    /* folded but could not be removed: never read again */
    pc_stats_counts max;      /* the largest counts it showed */
    uint64_t        bad_sig;  /* the bad state last counted and logged */
} known;

struct pcd_statsdir {
    pthread_mutex_t  mu;
    int              dfd;
    int              own;     /* the directory is ours: we may remove files */
    pc_stats_totals *t;       /* as last written */
    known           *k;       /* sorted by name */
    size_t           nk;
    uint64_t         rejected;
};

static int write_totals(pcd_statsdir *s, pc_stats_totals *t, char *err, size_t errlen)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "." PC_STATS_TOTALS ".%ld", (long)getpid());
    unlinkat(s->dfd, tmp, 0); /* our leftover, or a name a member planted */
    pc_stats_totals_seal(t);
    int fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    const char *what = "create";
    int ok = fd >= 0;
    if (ok) {
        what = "write";
        ok = fchmod(fd, 0644) == 0 && pwrite(fd, t, sizeof *t, 0) == (ssize_t)sizeof *t;
    }
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok) {
        /* Readers see the old totals or the new, never a mix. */
        what = "rename";
        ok = renameat(s->dfd, tmp, s->dfd, PC_STATS_TOTALS) == 0;
        e = errno;
    }
    if (!ok) {
        unlinkat(s->dfd, tmp, 0);
        snprintf(err, errlen, "statistics totals: %s: %s", what, strerror(e));
        return PC_EIO;
    }
    return PC_OK;
}

int pcd_statsdir_open(const char *cache, pcd_statsdir **out, char *err, size_t errlen)
{
    char dir[4096];
    *out = NULL;
    if ((size_t)snprintf(dir, sizeof dir, "%s/" PC_STATS_DIR, cache) >= sizeof dir) {
        snprintf(err, errlen, "statistics directory: path too long");
        return PC_EINVAL;
    }
    if (mkdir(dir, 01770) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "statistics directory %s: %s", dir, strerror(errno));
        return PC_EIO;
    }
    pcd_statsdir *s = calloc(1, sizeof *s);
    if (!s || !(s->t = calloc(1, sizeof *s->t))) {
        free(s);
        snprintf(err, errlen, "statistics directory %s: out of memory", dir);
        return PC_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->dfd = pc_stats_dir_open(cache);
    struct stat ds;
    if (s->dfd < 0 || fstat(s->dfd, &ds) != 0) {
        snprintf(err, errlen, "statistics directory %s: %s", dir,
                 errno == ENOTDIR || errno == ELOOP ? "not a directory" : strerror(errno));
        pcd_statsdir_close(s);
        return PC_EIO;
    }
    s->own = ds.st_uid == geteuid();
    /* Sticky, so that members cannot remove or replace each other's files;
     * group-writable, so that they can make theirs; others: nothing.  Set
     * outright: the umask must not take the group's bits. */
    if (s->own && (ds.st_mode & 07777) != 01770 && fchmod(s->dfd, 01770) != 0)
        LOG_WARN("stats", "statistics directory %s: cannot chmod 01770: %s", dir, strerror(errno));
    if (!s->own)
        LOG_WARN("stats", "statistics directory %s belongs to uid %u, not to the daemon: "
                 "dead processes' files are not removed", dir, (unsigned)ds.st_uid);
    /* The shared mapping of earlier versions: any member could truncate it
     * and kill every process that mapped it.  Processes that still map it
     * keep an unlinked file, harmlessly. */
    char old[4200];
    snprintf(old, sizeof old, "%s/" PC_STATS_OLD_FILE, cache);
    if (unlink(old) == 0)
        LOG_INFO("stats", "removed %s, the shared statistics area of an earlier version "
                 "(its counts are not carried over)", old);
    char why[160];
    int rc = pc_stats_totals_read(s->dfd, ds.st_uid, s->t, why, sizeof why);
    if (rc == PC_OK) {
        /* Folded before a crash, maybe not removed yet: they are in the
         * totals already. */
        for (uint32_t i = 0; i < s->t->nfolded && s->own; i++)
            unlinkat(s->dfd, s->t->folded[i], 0);
    } else {
        if (rc != PC_ENOTREADY)
            LOG_WARN("stats", "statistics directory %s: %s; totals start again from zero", dir,
                     why);
        memset(s->t, 0, sizeof *s->t);
        if (s->own && write_totals(s, s->t, err, errlen) != PC_OK) {
            pcd_statsdir_close(s);
            return PC_EIO;
        }
    }
    *out = s;
    return PC_OK;
}

void pcd_statsdir_close(pcd_statsdir *s)
{
    if (!s)
        return;
    if (s->dfd >= 0)
        close(s->dfd);
    for (size_t i = 0; i < s->nk; i++)
        free(s->k[i].name);
    free(s->k);
    free(s->t);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The process files' names, sorted; stale dot-names removed on the way.
 * NULL on failure. */
static char **list_names(pcd_statsdir *s, size_t *n)
{
    *n = 0;
    DIR *d = pc_stats_dir_list(s->dfd);
    if (!d)
        return NULL;
    size_t cap = 64;
    char **v = malloc(cap * sizeof *v);
    struct dirent *de;
    int64_t now = (int64_t)time(NULL);
    while (v && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (!pc_stats_name_is_proc(nm)) {
            struct stat st;
            if (s->own && nm[0] == '.' && strcmp(nm, ".") && strcmp(nm, "..") &&
                fstatat(s->dfd, nm, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                now - (int64_t)st.st_mtime > DOT_STALE_S)
                unlinkat(s->dfd, nm, 0);
            continue;
        }
        if (*n == PC_STATS_MAX_FILES) {
            LOG_WARN("stats", "statistics directory: more than %u files; the rest are not read",
                     PC_STATS_MAX_FILES);
            break;
        }
        if (*n == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[*n] = strdup(nm)))
            break;
        (*n)++;
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static uint64_t bad_sig(const pc_stats_entry *e)
{
    uint64_t h[4] = { e->ino, e->size, (uint64_t)e->mtime_ns, pc_stats_check(e->why, strlen(e->why)) };
    uint64_t sig = pc_stats_check(h, sizeof h);
    return sig ? sig : 1;
}

static void reject(pcd_statsdir *s, known *k, const pc_stats_entry *e, int *logs)
{
    uint64_t sig = bad_sig(e);
    if (sig == k->bad_sig)
        return; /* this very state was counted and logged already */
    k->bad_sig = sig;
    s->rejected++;
    if ((*logs)++ < LOGS_PER_SCAN)
        LOG_WARN("stats", "statistics file %s: %s; skipped (its writer's lookups are not "
                 "counted while it is bad)", k->name, e->why);
}

/* Read k's file and judge it. */
static void visit(pcd_statsdir *s, known *k, pc_stats_counts *vanished, int *logs,
                  unsigned *nfold, uint32_t *alive)
{
    pc_stats_entry e;
    pc_stats_entry_read(s->dfd, k->name, &e);
    if (k->stuck && e.ino == k->ino && e.dev == k->dev)
        return; /* in the totals already */
    k->stuck = 0;
    if (e.ino && k->have && (e.dev != k->dev || e.ino != k->ino)) {
        /* Another file under this name: the one we knew is gone. */
        pc_stats_counts_add(vanished, &k->max);
        k->have = 0;
    }
    if (e.ino) {
        k->dev = e.dev;
        k->ino = e.ino;
    }
    if (e.kind == PC_STATS_E_VALID && k->have && !pc_stats_counts_ge(&e.c, &k->max)) {
        snprintf(e.why, sizeof e.why, "counts went backwards");
        e.kind = PC_STATS_E_BAD;
    }
    if (e.kind == PC_STATS_E_VALID) {
        k->max = e.c;
        k->have = 1;
        k->bad_sig = 0;
    } else {
        reject(s, k, &e, logs);
    }
    if (e.dead && s->own && !k->have) {
        /* Junk nobody holds (a crashed writer's, or a member's): nothing
         * to fold.  What cannot be removed (a member's directory) stays,
         * rejected once. */
        k->gone = unlinkat(s->dfd, k->name, 0) == 0;
    } else if (e.dead && s->own && *nfold < PC_STATS_FOLD_MAX &&
               strlen(k->name) < PC_STATS_NAME_MAX) {
        k->fold = 1; /* a dead process's file */
        (*nfold)++;
    } else if (e.alive && e.kind == PC_STATS_E_VALID) {
        (*alive)++;
    }
}

int pcd_statsdir_collect(pcd_statsdir *s, pc_stats *out, uint64_t *rejected)
{
    pthread_mutex_lock(&s->mu);
    size_t n;
    char **names = list_names(s, &n);
    known *nk = names ? calloc(n ? n : 1, sizeof *nk) : NULL;
    if (!nk) {
        if (names)
            for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        pthread_mutex_unlock(&s->mu);
        return PC_ENOMEM;
    }
    pc_stats_counts vanished;
    memset(&vanished, 0, sizeof vanished);
    int logs = 0;
    unsigned nfold = 0;
    uint32_t alive = 0;
    size_t i = 0, j = 0;
    /* Merge what we knew with what is there, both sorted by name. */
    while (i < s->nk || j < n) {
        int c = i == s->nk ? 1 : j == n ? -1 : strcmp(s->k[i].name, names[j]);
        if (c < 0) { /* gone without us: its counts stay in the sums */
            if (s->k[i].have)
                pc_stats_counts_add(&vanished, &s->k[i].max);
            free(s->k[i++].name);
            continue;
        }
        known *k = &nk[j];
        if (c == 0) {
            *k = s->k[i++];
            free(names[j]);
        } else {
            k->name = names[j];
        }
        k->fold = 0;
        k->gone = 0;
        j++;
        visit(s, k, &vanished, &logs, &nfold, &alive);
    }
    free(names);
    free(s->k);
    s->k = nk;
    s->nk = n;
    if (logs > LOGS_PER_SCAN)
        LOG_WARN("stats", "statistics directory: %d more files rejected", logs - LOGS_PER_SCAN);
    pc_stats_counts_add(&s->t->c, &vanished);

    /* Fold the dead: totals first (naming them), then remove them; a
     * reader that finds a named one before it goes skips it. */
    static const pc_stats_counts zero;
    int dirty = memcmp(&vanished, &zero, sizeof vanished) != 0;
    if (nfold || dirty) {
        pc_stats_totals *t = malloc(sizeof *t);
        if (t) {
            *t = *s->t;
            t->gen++;
            t->nfolded = 0;
            memset(t->folded, 0, sizeof t->folded);
            for (size_t x = 0; x < s->nk; x++) {
                known *k = &s->k[x];
                if (!k->fold)
                    continue;
                if (k->have)
                    pc_stats_counts_add(&t->c, &k->max);
                if (strlen(k->name) < PC_STATS_NAME_MAX)
                    memcpy(t->folded[t->nfolded++], k->name, strlen(k->name) + 1);
            }
            char err[256];
            if (write_totals(s, t, err, sizeof err) == PC_OK) {
                *s->t = *t;
                for (size_t x = 0; x < s->nk; x++) {
                    known *k = &s->k[x];
                    if (!k->fold)
                        continue;
                    k->gone = unlinkat(s->dfd, k->name, 0) == 0;
                    k->stuck = !k->gone;
                    k->have = 0;
                }
            } else {
                /* Kept as they are: summed below, folded next time. */
                LOG_ERR("stats", "%s", err);
            }
            free(t);
        }
    }
    size_t w = 0;
    for (size_t x = 0; x < s->nk; x++) {
        if (s->k[x].gone)
            free(s->k[x].name);
        else
            s->k[w++] = s->k[x];
    }
    s->nk = w;
    pc_stats_counts sum = s->t->c;
    for (size_t x = 0; x < s->nk; x++)
        if (s->k[x].have)
            pc_stats_counts_add(&sum, &s->k[x].max);
    memset(out, 0, sizeof *out);
    out->hits = sum.hits;
    out->misses = sum.misses;
    out->errors = sum.errors;
    memcpy(out->latency, sum.latency, sizeof out->latency);
    out->processes = alive;
    out->slots = PC_STATS_MAX_FILES;
    if (rejected)
        *rejected = s->rejected;
    pthread_mutex_unlock(&s->mu);
    return PC_OK;
}
