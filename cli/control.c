/* control.c - the operators' commands of the pricecache CLI: status, reload, breaker reset, accept, metrics (over the control socket) and the audit log (read from the cache). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pricecache.h"

#define DEFAULT_TIMEOUT_MS 5000

/* The control address: --control, else $PRICECACHE_CONTROL, else what the
 * daemon of the cache directory announced; never a guessed default (a
 * request must reach the daemon of this cache). */
static int control_addr(const char *opt, char *addr, size_t cap)
{
    int rc = pc_bus_resolve(pc_cli_dir(), PC_BUS_CONTROL, opt, PC_BUS_NO_DEFAULT, addr, cap, NULL);
    if (rc == PC_NOTFOUND) {
        fprintf(stderr, "pricecache: %s: the daemon announced no control socket ([bus] control "
                "off?); give --control ADDR or set PRICECACHE_CONTROL\n", pc_cli_dir());
        return pc_cli_exit_for(PC_ENOTREADY);
    }
    if (rc != PC_OK) {
        /* pc_errdetail: e.g. which lock.mdb check refused the cache. */
        fprintf(stderr, "pricecache: %s: %s (give --control ADDR to skip the cache)\n",
                pc_cli_dir(), pc_errdetail(rc));
        return pc_cli_exit_for(rc);
    }
    return 0;
}

/* [--control ADDR] [-t MS] WORD...: joined into one request. */
static int send_request(const char *verb, int nfixed, int argc, char **argv)
{
    const char *opt = NULL;
    long timeout = DEFAULT_TIMEOUT_MS;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--control") == 0 && i + 1 < argc && argv[i + 1][0]) {
            opt = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            char *end;
            timeout = strtol(argv[++i], &end, 10);
            if (*end || timeout <= 0 || timeout > 3600000)
                return -1;
        } else {
            return -1;
        }
    }
    if (argc - i != nfixed)
        return -1;
    char req[512];
    size_t len = (size_t)snprintf(req, sizeof req, "%s", verb);
    for (; i < argc; i++) {
        if (!pc_cli_slug_ok(argv[i]) &&
            !(strcmp(verb, "reload") == 0 && strcmp(argv[i], "all") == 0)) {
            fprintf(stderr, "pricecache: chain \"%s\": %s (expected [a-z0-9_-]{1,%d})\n",
                    argv[i], pc_strerror(PC_EINVAL), PC_CHAIN_MAX);
            return pc_cli_exit_for(PC_EINVAL);
        }
        len += (size_t)snprintf(req + len, sizeof req - len, " %s", argv[i]);
    }
    char addr[1024];
    int e = control_addr(opt, addr, sizeof addr);
    if (e)
        return e;
    char *reply = malloc(PC_CONTROL_REPLY_MAX); /* status of hundreds of chains */
    if (!reply) {
        fprintf(stderr, "pricecache: %s\n", pc_strerror(PC_ENOMEM));
        return pc_cli_exit_for(PC_ENOMEM);
    }
    int rc = pc_control(addr, req, reply, PC_CONTROL_REPLY_MAX, (int)timeout);
    if (rc == PC_OK)
        printf("%s\n", reply);
    else if (rc == PC_EREFUSED)
        fprintf(stderr, "pricecache: %s: %s\n", req, reply);
    else
        fprintf(stderr, "pricecache: %s: %s (%s)\n", req, pc_strerror(rc), reply);
    free(reply);
    return pc_cli_exit_for(rc);
}

int pc_cli_status(int argc, char **argv)  { return send_request("status", 0, argc, argv); }
int pc_cli_metrics(int argc, char **argv) { return send_request("metrics", 0, argc, argv); }
int pc_cli_reload(int argc, char **argv)  { return send_request("reload", 1, argc, argv); }
int pc_cli_accept(int argc, char **argv)  { return send_request("accept", 1, argc, argv); }

int pc_cli_breaker(int argc, char **argv)
{
    /* "breaker reset [opts] CHAIN": the only breaker verb so far. */
    if (argc < 1 || strcmp(argv[0], "reset") != 0)
        return -1;
    return send_request("breaker reset", 1, argc - 1, argv + 1);
}

/* ---- audit ------------------------------------------------------------ */

static void hex(const uint8_t *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* Every record, one line each: SEQ, the first 8 bytes of its hash, its
 * text.  One record per read: a long log piped into a pager pins nothing. */
static int audit_list(pc_reader *r, pc_audit_verdict *v)
{
    pc_audit_entry *e = calloc(1, sizeof *e);
    if (!e)
        return PC_ENOMEM;
    e->size = sizeof *e;
    uint64_t after = 0;
    int rc;
    while ((rc = pc_audit_next(r, after, e)) == PC_OK) {
        char h[2 * PC_AUDIT_HASH + 1];
        hex(e->hash, 8, h);
        printf("%llu\t%s\t%s\n", (unsigned long long)e->seq, h, e->text);
        after = e->seq;
        v->intact++;
    }
    /* A record that is not one breaks the chain; seq 0 (none read) is the
     * library refusing lock.mdb, reported as that, never as tampering. */
    if (rc == PC_EFORMAT && e->seq) {
        v->bad_seq = e->seq;
        snprintf(v->why, sizeof v->why, "not a well-formed audit record");
        rc = PC_ETAMPERED;
    } else if (rc == PC_NOTFOUND) {
        rc = PC_OK;
    }
    free(e);
    return rc;
}

int pc_cli_audit(int argc, char **argv)
{
    int verify = 0;
    if (argc == 1 && strcmp(argv[0], "verify") == 0)
        verify = 1;
    else if (argc != 0)
        return -1;
    pc_reader *r = NULL;
    int rc = pc_cli_open(&r);
    if (rc != 0)
        return rc;
    pc_audit_verdict v = { .size = sizeof v };
    rc = verify ? pc_audit_verify(r, &v) : audit_list(r, &v);
    /* pc_errdetail (a corrupt lock.mdb named) holds only until the next
     * call into the library: reported before pc_close. */
    if (rc != PC_OK && rc != PC_ETAMPERED) {
        pc_close(r);
        return pc_cli_fail("audit", rc);
    }
    pc_close(r);
    if (rc == PC_ETAMPERED) {
        fprintf(stderr, "pricecache: audit: record #%llu is bad: %s (%llu records before it "
                "are intact)\n", (unsigned long long)v.bad_seq, v.why,
                (unsigned long long)v.intact);
        return PC_CLI_EXIT_TAMPERED;
    }
    if (verify) {
        char h[2 * PC_AUDIT_HASH + 1] = "-";
        if (v.intact)
            hex(v.last_hash, PC_AUDIT_HASH, h);
        printf("audit: %llu records, hash chain intact; last hash %s\n",
               (unsigned long long)v.intact, h);
    }
    return 0;
}
