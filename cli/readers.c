/* readers.c - `pricecache readers`: LMDB's reader slots (pid, alive, the snapshot held, how long) from the cache, with the ages the daemon measured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pricecache.h"

#define AGES_TIMEOUT_MS 2000

/* The daemon's `readers` answer, parsed into (pid, thread, txnid) -> age:
 * "slot pid=P thread=HEX txnid=T|- behind=B age_s=S|-" lines. */
typedef struct age_row {
    unsigned long      pid;
    unsigned long long thread, txnid;
    long               age_s;
} age_row;

static size_t parse_ages(const char *reply, age_row *rows, size_t cap)
{
    size_t n = 0;
    for (const char *p = reply; p && *p && n < cap; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        age_row r;
        char txn[32], age[32];
        if (sscanf(p, "slot pid=%lu thread=%llx txnid=%31s behind=%*u age_s=%31s", &r.pid,
                   &r.thread, txn, age) != 4)
            continue;
        r.txnid = strcmp(txn, "-") == 0 ? 0 : strtoull(txn, NULL, 10);
        r.age_s = strcmp(age, "-") == 0 ? -1 : strtol(age, NULL, 10);
        rows[n++] = r;
    }
    return n;
}

/* Ages from the daemon: best effort, with a short timeout (the slots
 * themselves come from the cache and need no daemon). */
static size_t daemon_ages(const char *opt, age_row *rows, size_t cap, char *why, size_t wcap)
{
    char addr[1024];
    int rc = pc_bus_resolve(pc_cli_dir(), PC_BUS_CONTROL, opt, PC_BUS_NO_DEFAULT, addr,
                            sizeof addr, NULL);
    if (rc != PC_OK) {
        snprintf(why, wcap, "no control socket announced");
        return 0;
    }
    size_t rcap = 1 << 20;
    char *reply = malloc(rcap);
    if (!reply) {
        snprintf(why, wcap, "%s", pc_strerror(PC_ENOMEM));
        return 0;
    }
    rc = pc_control(addr, "readers", reply, rcap, AGES_TIMEOUT_MS);
    size_t n = 0;
    if (rc == PC_OK)
        n = parse_ages(reply, rows, cap);
    else
        snprintf(why, wcap, "%s", reply[0] ? reply : pc_strerror(rc));
    free(reply);
    return rc == PC_OK ? n : 0;
}

int pc_cli_readers(int argc, char **argv)
{
    const char *opt = NULL;
    int i = 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--control") == 0 && i + 1 < argc && argv[i + 1][0])
            opt = argv[++i];
        else
            return EXIT_BADARGS;
    }
    pc_reader *r;
    int e = pc_cli_open(&r);
    if (e)
        return e;
    size_t n = 0, cap = 0;
    pc_reader_slot *slots = NULL;
    uint64_t last = 0;
    int rc = pc_readers_list(r, NULL, 0, &n, NULL);
    /* The table may change between the count and the copy: room to spare. */
    while (rc == PC_OK && n >= cap) {
        free(slots);
        cap = n + 16;
        slots = calloc(cap, sizeof *slots);
        if (!slots) {
            rc = PC_ENOMEM;
            break;
        }
        rc = pc_readers_list(r, slots, cap, &n, &last);
    }
    pc_close(r);
    if (rc != PC_OK) {
        free(slots);
        return pc_cli_fail("readers", rc);
    }
    age_row *ages = calloc(cap ? cap : 1, sizeof *ages);
    char why[512] = "";
    size_t nages = ages ? daemon_ages(opt, ages, cap, why, sizeof why) : 0;
    printf("%-10s %-5s %-16s %-12s %-8s %s\n", "PID", "ALIVE", "THREAD", "TXNID", "BEHIND",
           "AGE_S");
    for (size_t k = 0; k < n; k++) {
        const pc_reader_slot *s = &slots[k];
        char txn[32] = "-", age[32] = "-";
        if (s->txnid)
            snprintf(txn, sizeof txn, "%llu", (unsigned long long)s->txnid);
        for (size_t j = 0; j < nages; j++)
            if (ages[j].pid == s->pid && ages[j].thread == s->thread &&
                ages[j].txnid == s->txnid && ages[j].age_s >= 0)
                snprintf(age, sizeof age, "%ld", ages[j].age_s);
        if (s->behind == 0 && s->txnid)
            snprintf(age, sizeof age, "0");
        printf("%-10u %-5s %-16llx %-12s %-8llu %s\n", s->pid, s->alive ? "yes" : "no",
               (unsigned long long)s->thread, txn, (unsigned long long)s->behind, age);
    }
    if (why[0])
        fprintf(stderr, "pricecache: readers: ages unknown (%s); BEHIND > 0 marks a slot "
                "holding an old snapshot\n", why);
    free(ages);
    free(slots);
    return pc_cli_finish();
}
