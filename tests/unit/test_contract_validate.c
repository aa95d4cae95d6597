/* test_contract_validate.c - the row rules of DESIGN.md at their limits (ids of
 * 0/1/200/201 bytes, UTF-8 at the limit, price 0, -1 and INT64_MAX, NULLs), and
 * log samples of rejected rows that stay valid UTF-8 for the JSON log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pc_format.h"
#include "validate.h"

static pcd_field fld(const char *s, size_t n) { return (pcd_field){ s, n }; }

static void test_limits(void **state)
{
    (void)state;
    char id[PC_ID_MAX + 2];
    memset(id, 'i', sizeof id);
    pcd_field none = { NULL, 0 };
    assert_int_equal(pcd_validate_row(0, none, fld(id, 1), 0, 0, 0), -1);
    assert_int_equal(pcd_validate_row(0, none, fld(id, PC_ID_MAX), 0, INT64_MAX, 0), -1);
    assert_int_equal(pcd_validate_row(0, none, fld(id, PC_ID_MAX + 1), 0, 1, 0), PC_REJ_LONG_ID);
    assert_int_equal(pcd_validate_row(0, none, fld(id, 0), 0, 1, 0), PC_REJ_EMPTY_ID);
    assert_int_equal(pcd_validate_row(0, none, fld(id, 5), 0, -1, 0), PC_REJ_NEGATIVE_PRICE);
    assert_int_equal(pcd_validate_row(0, none, fld(id, 5), 0, INT64_MIN, 0), PC_REJ_NEGATIVE_PRICE);
    assert_int_equal(pcd_validate_row(0, none, fld(id, 5), 1, 0, 0), PC_REJ_NULL);
    assert_int_equal(pcd_validate_row(0, none, fld(id, 5), 0, 1, 1), PC_REJ_NULL);
    assert_int_equal(pcd_validate_row(0, none, none, 0, 1, 0), PC_REJ_NULL);
    /* store rows: the store id has the same limits */
    assert_int_equal(pcd_validate_row(1, fld(id, PC_ID_MAX), fld(id, PC_ID_MAX), 0, 1, 0), -1);
    assert_int_equal(pcd_validate_row(1, fld(id, PC_ID_MAX + 1), fld(id, 3), 0, 1, 0), PC_REJ_LONG_ID);
    assert_int_equal(pcd_validate_row(1, fld(id, 0), fld(id, 3), 0, 1, 0), PC_REJ_EMPTY_ID);
    assert_int_equal(pcd_validate_row(1, none, fld(id, 3), 0, 1, 0), PC_REJ_NULL);
    /* 100 two-byte characters are 200 bytes: in; one more byte: out */
    char utf[PC_ID_MAX + 2];
    for (int i = 0; i < 100; i++)
        memcpy(utf + 2 * i, "\xc3\xa9", 2);
    utf[200] = 'x';
    assert_int_equal(pcd_validate_row(0, none, fld(utf, 200), 0, 1, 0), -1);
    assert_int_equal(pcd_validate_row(0, none, fld(utf, 201), 0, 1, 0), PC_REJ_LONG_ID);
}

/* Strict UTF-8 check of a NUL-terminated string. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

static void test_samples_stay_utf8(void **state)
{
    (void)state;
    /* every alignment of 2-, 3- and 4-byte characters against the cut */
    static const char *const chars[] = { "\xc3\xa9", "\xe4\xbe\xa1", "\xf0\x9f\x98\x80" };
    for (size_t c = 0; c < 3; c++) {
        for (size_t lead = 0; lead < 4; lead++) {
            char id[PC_ID_MAX + 8];
            size_t n = 0;
            memset(id, 'a', lead);
            n = lead;
            size_t cl = strlen(chars[c]);
            while (n + cl <= 201) {
                memcpy(id + n, chars[c], cl);
                n += cl;
            }
            char buf[128];
            pcd_row_sample(buf, sizeof buf, 0, (pcd_field){ NULL, 0 }, fld(id, n), 0, 5);
            if (!utf8_valid(buf))
                fail_msg("sample of a %zu-byte id (%zu-byte chars, lead %zu) is not UTF-8: %s",
                         n, cl, lead, buf);
            assert_non_null(strstr(buf, "bytes)"));
            pcd_row_sample(buf, sizeof buf, 1, fld(id, n), fld(id, n), 0, 5);
            if (!utf8_valid(buf))
                fail_msg("sample of a store row is not UTF-8: %s", buf);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_samples_stay_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
