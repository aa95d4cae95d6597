/* test_pgcopy.c - the COPY BINARY parser: a stream split at every pair of points, malformed streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_format.h"
#include "pgcopy.h"

typedef struct rows { int n; char seen[16][64]; } rows;

static int on_row(void *ctx, int nf, const pcd_field *f)
{
    rows *r = ctx;
    char *o = r->seen[r->n++];
    o[0] = 0;
    for (int i = 0; i < nf; i++) {
        char part[32];
        if (!f[i].data)
            snprintf(part, sizeof part, "%sNULL", i ? "|" : "");
        else
            snprintf(part, sizeof part, "%s%.*s", i ? "|" : "", (int)f[i].len, f[i].data);
        strcat(o, part);
    }
    return 0;
}

static size_t put16(uint8_t *p, int16_t v) { uint16_t n = htons((uint16_t)v); memcpy(p, &n, 2); return 2; }
static size_t put32(uint8_t *p, int32_t v) { uint32_t n = htonl((uint32_t)v); memcpy(p, &n, 4); return 4; }

static size_t build_stream(uint8_t *b)
{
    static const uint8_t sig[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0 };
    size_t o = 0;
    memcpy(b, sig, 11);
    o += 11;
    o += put32(b + o, 0);          /* flags */
    o += put32(b + o, 4);          /* header extension of 4 bytes */
    o += put32(b + o, 0x01020304);
    const char *vals[3][2] = { { "item1", "x" }, { "", "yz" }, { NULL, "q" } };
    for (int t = 0; t < 3; t++) {
        o += put16(b + o, 2);
        for (int i = 0; i < 2; i++) {
            const char *v = vals[t][i];
            if (!v) {
                o += put32(b + o, -1);
            } else {
                o += put32(b + o, (int32_t)strlen(v));
                memcpy(b + o, v, strlen(v));
                o += strlen(v);
            }
        }
    }
    o += put16(b + o, -1);
    return o;
}

static void test_copy_every_split(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t len = build_stream(b);
    for (size_t cut1 = 0; cut1 <= len; cut1++) {
        for (size_t cut2 = cut1; cut2 <= len; cut2 += 3) {
            rows r = { 0 };
            pcd_copy_parser p;
            char err[128];
            pcd_copy_init(&p, on_row, &r);
            assert_int_equal(pcd_copy_feed(&p, b, cut1, err, sizeof err), PC_OK);
            assert_int_equal(pcd_copy_feed(&p, b + cut1, cut2 - cut1, err, sizeof err), PC_OK);
            assert_int_equal(pcd_copy_feed(&p, b + cut2, len - cut2, err, sizeof err), PC_OK);
            assert_int_equal(pcd_copy_end(&p, err, sizeof err), PC_OK);
            assert_int_equal(r.n, 3);
            assert_string_equal(r.seen[0], "item1|x");
            assert_string_equal(r.seen[1], "|yz");
            assert_string_equal(r.seen[2], "NULL|q");
            pcd_copy_free(&p);
        }
    }
}

static void test_copy_malformed(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t len = build_stream(b);
    char err[128];
    rows r = { 0 };
    pcd_copy_parser p;
    /* truncated: no trailer */
    pcd_copy_init(&p, on_row, &r);
    assert_int_equal(pcd_copy_feed(&p, b, len - 2, err, sizeof err), PC_OK);
    assert_int_equal(pcd_copy_end(&p, err, sizeof err), PC_EDB);
    pcd_copy_free(&p);
    /* bad signature */
    b[0] = 'X';
    pcd_copy_init(&p, on_row, &r);
    assert_int_equal(pcd_copy_feed(&p, b, len, err, sizeof err), PC_EDB);
    assert_non_null(strstr(err, "signature"));
    pcd_copy_free(&p);
    b[0] = 'P';
    /* negative field length other than -1 */
    size_t o = 11 + 12;
    put16(b + o, 2);
    put32(b + o + 2, -7);
    pcd_copy_init(&p, on_row, &r);
    assert_int_equal(pcd_copy_feed(&p, b, len, err, sizeof err), PC_EDB);
    pcd_copy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_every_split),
        cmocka_unit_test(test_copy_malformed),
    };
    return cmocka_run_group_tests_name("pgcopy", tests, NULL, NULL);
}
