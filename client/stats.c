/* stats.c - the shared lookup statistics area: created by the daemon, a slot per client process, summed for the console and /metrics. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

_Static_assert(sizeof(pc_stats_line) == 64, "one cache line per thread");
_Static_assert(sizeof(pc_stats_header) == 64, "header is one line");
_Static_assert(sizeof(pc_stats_slot) % 64 == 0, "slots are line-aligned");

#define PID_BITS  22 /* Linux's PID_MAX_LIMIT is 2^22 */
#define PID_MASK  ((1ull << PID_BITS) - 1)

struct pc_stats_proc {
    void            *map;
    pc_stats_slot   *slot;
    uint64_t         owner;
    int              guest;                     /* no slot of its own: see attach */
    pthread_mutex_t  mu;                        /* guards used[] */
    unsigned char    used[PC_STATS_LINES - 1];  /* exclusive lines taken */
};

uint64_t pc_stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pc_stats_wanted(void)
{
    const char *e = getenv("PRICECACHE_STATS");
    return !(e && strcmp(e, "0") == 0);
}

/* Start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat); 0 when it does not exist. */
static uint64_t proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* The command name (field 2) may hold spaces and parentheses: fields
     * are counted from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static uint64_t owner_of(long pid, uint64_t start)
{
    return (start << PID_BITS) | ((uint64_t)pid & PID_MASK);
}

/* Does the process that claimed a slot with `owner` still run? */
static int owner_alive(uint64_t owner)
{
    long pid = (long)(owner & PID_MASK);
    uint64_t start = proc_start(pid);
    return start && owner_of(pid, start) == owner;
}

static int header_ok(const pc_stats_header *h, uint64_t size)
{
    return h->magic == PC_STATS_MAGIC && h->version == PC_STATS_VERSION &&
           h->nslots == PC_STATS_SLOTS && h->nlines == PC_STATS_LINES &&
           h->slot_size == sizeof(pc_stats_slot) && h->size == PC_STATS_SIZE &&
           size == PC_STATS_SIZE;
}

static pc_stats_slot *slots_of(void *map)
{
    return (pc_stats_slot *)((char *)map + sizeof(pc_stats_header));
}

/* ---- daemon ----------------------------------------------------------- */

static int file_valid(int fd)
{
    struct stat st;
    pc_stats_header h;
    return fstat(fd, &st) == 0 && (uint64_t)st.st_size == PC_STATS_SIZE &&
           pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && header_ok(&h, PC_STATS_SIZE);
}

int pc_stats_create(const char *dir, char *err, size_t errlen)
{
    char path[4096], tmp[4096 + 16];
    if (!dir || (size_t)snprintf(path, sizeof path, "%s/" PC_STATS_FILE, dir) >= sizeof path) {
        snprintf(err, errlen, "statistics area: path too long");
        return PC_EINVAL;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        int ok = file_valid(fd);
        /* Counts survive a daemon restart; the mode is made right again in
         * case someone changed it. */
        if (ok && fchmod(fd, 0660) != 0)
            ok = 0;
        close(fd);
        if (ok)
            return PC_OK;
    }
    /* Build the new area aside and rename it in: a client never maps a
     * half-written header, and one that mapped an old file is not cut
     * short under its feet (which would be SIGBUS). */
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
    if (fd < 0) {
        snprintf(err, errlen, "statistics area %s: %s", tmp, strerror(errno));
        return PC_EIO;
    }
    pc_stats_header h;
    memset(&h, 0, sizeof h);
    h.magic = PC_STATS_MAGIC;
    h.version = PC_STATS_VERSION;
    h.nslots = PC_STATS_SLOTS;
    h.nlines = PC_STATS_LINES;
    h.slot_size = sizeof(pc_stats_slot);
    h.size = PC_STATS_SIZE;
    const char *what = "fchmod";
    int ok = fchmod(fd, 0660) == 0; /* the umask must not take the group's write bit */
    if (ok) {
        what = "ftruncate";
        ok = ftruncate(fd, (off_t)PC_STATS_SIZE) == 0;
    }
    if (ok) {
        what = "write";
        ok = pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h;
    }
    if (ok) {
        what = "rename";
        ok = rename(tmp, path) == 0;
    }
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(tmp);
        snprintf(err, errlen, "statistics area %s: %s: %s", path, what, strerror(e));
        return PC_EIO;
    }
    return PC_OK;
}

/* ---- client processes ------------------------------------------------- */

static int try_claim(pc_stats_slot *s, uint64_t expect, uint64_t me)
{
    return atomic_compare_exchange_strong_explicit(&s->owner, &expect, me, memory_order_acq_rel,
                                                   memory_order_relaxed);
}

pc_stats_proc *pc_stats_attach(const char *dir)
{
    char path[4096];
    if (!dir || (size_t)snprintf(path, sizeof path, "%s/" PC_STATS_FILE, dir) >= sizeof path)
        return NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == PC_STATS_SIZE)
        map = mmap(NULL, PC_STATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return NULL;
    uint64_t start = proc_start((long)getpid());
    pc_stats_proc *p = calloc(1, sizeof *p);
    if (!p || !start || !header_ok(map, PC_STATS_SIZE) ||
        pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        munmap(map, PC_STATS_SIZE);
        return NULL;
    }
    p->map = map;
    p->owner = owner_of((long)getpid(), start);
    pc_stats_slot *slots = slots_of(map);
    /* A free slot first; else one whose process is gone (its counts stay
     * and ours add to them). */
    for (unsigned i = 0; i < PC_STATS_SLOTS && !p->slot; i++)
        if (atomic_load_explicit(&slots[i].owner, memory_order_relaxed) == 0 &&
            try_claim(&slots[i], 0, p->owner))
            p->slot = &slots[i];
    for (unsigned i = 0; i < PC_STATS_SLOTS && !p->slot; i++) {
        uint64_t o = atomic_load_explicit(&slots[i].owner, memory_order_relaxed);
        if (o != 0 && !owner_alive(o) && try_claim(&slots[i], o, p->owner))
            p->slot = &slots[i];
    }
    if (!p->slot) {
        /* Every slot is held by a live process (more than PC_STATS_SLOTS
         * clients at once).  Dropping this process's counts would make
         * lookups_total wrong, so it becomes a guest of a slot chosen by
         * its pid and adds to that slot's shared line, which is atomic for
         * any number of writers (the owner's extra threads use it too).
         * It claims nothing, so it is not counted among the processes. */
        p->slot = &slots[(unsigned long)getpid() % PC_STATS_SLOTS];
        p->guest = 1;
    }
    return p;
}

void pc_stats_detach(pc_stats_proc *p)
{
    if (!p)
        return;
    if (!p->guest)
        try_claim(p->slot, p->owner, 0);
    munmap(p->map, PC_STATS_SIZE);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void pc_stats_tl_init(pc_stats_tl *tl, pc_stats_proc *p)
{
    memset(tl, 0, sizeof *tl);
    if (!p)
        return;
    tl->proc = p;
    tl->slot = p->slot;
    tl->idx = -1;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < PC_STATS_LINES - 1 && !p->guest; i++) {
        if (!p->used[i]) {
            p->used[i] = 1;
            tl->idx = (int)i;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    tl->shared = tl->idx < 0;
    tl->line = &p->slot->line[tl->shared ? PC_STATS_LINES - 1 : (unsigned)tl->idx];
}

void pc_stats_tl_release(pc_stats_tl *tl)
{
    if (tl->proc && tl->idx >= 0) {
        pthread_mutex_lock(&tl->proc->mu);
        tl->proc->used[tl->idx] = 0;
        pthread_mutex_unlock(&tl->proc->mu);
    }
    memset(tl, 0, sizeof *tl);
}

void pc_stats_sample(pc_stats_tl *tl, uint64_t ns)
{
    atomic_fetch_add_explicit(&tl->slot->latency[pc_stats_bucket(ns)], 1, memory_order_relaxed);
}

/* ---- readers of the sums ---------------------------------------------- */

int pc_stats_read(const char *path, pc_stats *out)
{
    char file[4096];
    if (!path || !out || !*path ||
        (size_t)snprintf(file, sizeof file, "%s/" PC_STATS_FILE, path) >= sizeof file)
        return PC_EINVAL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? PC_ENOTREADY : PC_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return PC_EIO;
    }
    if ((uint64_t)st.st_size != PC_STATS_SIZE) {
        close(fd);
        return PC_EFORMAT;
    }
    void *map = mmap(NULL, PC_STATS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return PC_EIO;
    if (!header_ok(map, PC_STATS_SIZE)) {
        munmap(map, PC_STATS_SIZE);
        return PC_EFORMAT;
    }
    pc_stats sum;
    memset(&sum, 0, sizeof sum);
    sum.slots = PC_STATS_SLOTS;
    pc_stats_slot *slots = slots_of(map);
    for (unsigned i = 0; i < PC_STATS_SLOTS; i++) {
        pc_stats_slot *s = &slots[i];
        uint64_t o = atomic_load_explicit(&s->owner, memory_order_relaxed);
        if (o && owner_alive(o))
            sum.processes++;
        for (unsigned b = 0; b < PC_STATS_BUCKETS; b++)
            sum.latency[b] += atomic_load_explicit(&s->latency[b], memory_order_relaxed);
        for (unsigned l = 0; l < PC_STATS_LINES; l++) {
            sum.hits += atomic_load_explicit(&s->line[l].hits, memory_order_relaxed);
            sum.misses += atomic_load_explicit(&s->line[l].misses, memory_order_relaxed);
            sum.errors += atomic_load_explicit(&s->line[l].errors, memory_order_relaxed);
        }
    }
    munmap(map, PC_STATS_SIZE);
    *out = sum;
    return PC_OK;
}
