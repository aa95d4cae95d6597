/* validate.c - the rules a source row must pass before it is cached. */
#include "validate.h"

/* Owns: what makes a row bad, and why.  May call: nothing of daemon/. */

#include <stdio.h>
#include <string.h>

#include "pc_format.h"

int pcd_validate_row(int is_store, pcd_field store, pcd_field item,
                     int price_null, int64_t cents, int ts_null)
{
    if ((is_store && !store.data) || !item.data || price_null || ts_null)
        return PC_REJ_NULL;
    if ((is_store && store.len == 0) || item.len == 0)
        return PC_REJ_EMPTY_ID;
    if ((is_store && store.len > PC_ID_MAX) || item.len > PC_ID_MAX)
        return PC_REJ_LONG_ID;
    /* PostgreSQL text cannot hold NUL, but a bytea cast in a custom query
     * could; NUL is the key separator. */
    if ((is_store && memchr(store.data, 0, store.len)) || memchr(item.data, 0, item.len))
        return PC_REJ_EMPTY_ID;
    if (cents < 0)
        return PC_REJ_NEGATIVE_PRICE;
    return -1;
}

/* Cut an incomplete UTF-8 character off the end of `buf` (left there by a
 * truncating snprintf): samples go into JSON log lines, which are UTF-8. */
static void utf8_trim_tail(char *buf)
{
    size_t len = strlen(buf);
    if (len == 0 || !((unsigned char)buf[len - 1] & 0x80))
        return;
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)buf[i] & 0xc0) == 0x80)
        i--;
    unsigned char lead = (unsigned char)buf[i];
    size_t want = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3
                : (lead & 0xf8) == 0xf0 ? 4 : 1;
    if (len - i < want)
        buf[i] = 0;
}

/* Printable, escaped, truncated copy of a field. */
static size_t put_field(char *buf, size_t cap, pcd_field f)
{
    if (!f.data)
        return (size_t)snprintf(buf, cap, "NULL");
    size_t o = 0;
    if (o + 1 < cap)
        buf[o++] = '"';
    for (size_t i = 0; i < f.len && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)f.data[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
        /* cut after about 40 bytes, but not inside a UTF-8 character (the
         * sample goes into a JSON log line, which must stay UTF-8) */
        if (i >= 40 && f.len > 48 && (i + 1 >= f.len ||
                                      ((unsigned char)f.data[i + 1] & 0xc0) != 0x80)) {
            o += (size_t)snprintf(buf + o, cap - o, "...(%zu bytes)", f.len);
            break;
        }
    }
    buf[o < cap ? o : cap - 1] = 0;
    utf8_trim_tail(buf);
    o = strlen(buf);
    if (o + 1 < cap)
        buf[o++] = '"';
    buf[o < cap ? o : cap - 1] = 0;
    return o;
}

void pcd_row_sample(char *buf, size_t buflen, int is_store, pcd_field store,
                    pcd_field item, int price_null, int64_t cents)
{
    char s[128], it[128];
    put_field(s, sizeof s, store);
    put_field(it, sizeof it, item);
    char price[32];
    if (price_null)
        snprintf(price, sizeof price, "NULL");
    else
        snprintf(price, sizeof price, "%lld", (long long)cents);
    if (is_store)
        snprintf(buf, buflen, "store=%s item=%s price_cents=%s", s, it, price);
    else
        snprintf(buf, buflen, "item=%s price_cents=%s", it, price);
    utf8_trim_tail(buf);
}
