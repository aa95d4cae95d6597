/* control.c - the operators' commands of the pricecache CLI: status, reload, breaker reset, accept, metrics (over the control socket) and the audit log (read from the cache). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pc_format.h"
#include "pc_reader_internal.h"
#include "pricecache.h"

#define DEFAULT_TIMEOUT_MS 5000

/* The control address: --control, else $PRICECACHE_CONTROL, else what the
 * daemon of the cache directory announced. */
static int control_addr(const char *opt, char *addr, size_t cap)
{
    const char *env = getenv("PRICECACHE_CONTROL");
    if (opt || (env && *env)) {
        snprintf(addr, cap, "%s", opt ? opt : env);
        return 0;
    }
    pc_reader *r = NULL;
    int rc = pc_open(pc_cli_dir(), &r);
    if (rc == PC_OK) {
        rc = pc_bus_addrs(r, NULL, 0, addr, cap);
        if (rc == PC_OK && !*addr)
            rc = PC_NOTFOUND;
    }
    pc_close(r);
    if (rc == PC_NOTFOUND) {
        fprintf(stderr, "pricecache: %s: the daemon announced no control socket ([bus] control "
                "off?); give --control ADDR or set PRICECACHE_CONTROL\n", pc_cli_dir());
        return pc_cli_exit_for(PC_ENOTREADY);
    }
    if (rc != PC_OK) {
        fprintf(stderr, "pricecache: %s: %s (give --control ADDR to skip the cache)\n",
                pc_cli_dir(), pc_strerror(rc));
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
        if (!pc_slug_valid(argv[i], strlen(argv[i])) &&
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

typedef struct walk {
    int      verify;
    uint64_t count;
    uint8_t  prev[PC_AUDIT_HASH];
    int      have_prev;
    uint64_t bad_seq;
    char     why[160];
    pc_audit_rec rec;
} walk;

static void hex(const uint8_t *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

static int on_audit(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    walk *w = ctx;
    uint64_t seq = pc_audit_key_seq(key, klen);
    uint64_t want = w->count + 1;
    if (!seq || pc_audit_decode(seq, val, vlen, &w->rec) != PC_OK) {
        w->bad_seq = seq ? seq : want;
        snprintf(w->why, sizeof w->why, "not a well-formed audit record");
        return 1;
    }
    if (w->verify) {
        if (pc_audit_check(&w->rec, want, w->have_prev ? w->prev : NULL, w->why,
                           sizeof w->why) != PC_OK) {
            w->bad_seq = seq;
            return 1;
        }
    } else {
        char h[2 * PC_AUDIT_HASH + 1];
        hex(w->rec.hash, 8, h);
        printf("%llu\t%s\t%s\n", (unsigned long long)seq, h, w->rec.text);
    }
    memcpy(w->prev, w->rec.hash, sizeof w->prev);
    w->have_prev = 1;
    w->count++;
    return 0;
}

int pc_cli_audit(int argc, char **argv)
{
    int verify = 0;
    if (argc == 1 && strcmp(argv[0], "verify") == 0)
        verify = 1;
    else if (argc != 0)
        return -1;
    pc_reader *r = NULL;
    int rc = pc_open(pc_cli_dir(), &r);
    if (rc != PC_OK) {
        fprintf(stderr, "pricecache: %s: %s\n", pc_cli_dir(), pc_strerror(rc));
        return pc_cli_exit_for(rc);
    }
    walk *w = calloc(1, sizeof *w);
    if (!w) {
        pc_close(r);
        return pc_cli_exit_for(PC_ENOMEM);
    }
    w->verify = verify;
    uint8_t kb[4];
    rc = pc_reader_prefix_scan(r, kb, pc_key_audit_prefix(kb), on_audit, w);
    pc_close(r);
    int e;
    if (rc != PC_OK && rc != 1) {
        fprintf(stderr, "pricecache: audit: %s\n", pc_strerror(rc));
        e = pc_cli_exit_for(rc);
    } else if (w->bad_seq) {
        fprintf(stderr, "pricecache: audit: record #%llu is bad: %s (%llu records before it "
                "are intact)\n", (unsigned long long)w->bad_seq, w->why,
                (unsigned long long)w->count);
        e = PC_CLI_EXIT_TAMPERED;
    } else {
        if (verify) {
            char h[2 * PC_AUDIT_HASH + 1] = "-";
            if (w->have_prev)
                hex(w->prev, PC_AUDIT_HASH, h);
            printf("audit: %llu records, hash chain intact; last hash %s\n",
                   (unsigned long long)w->count, h);
        }
        e = 0;
    }
    free(w);
    return e;
}
