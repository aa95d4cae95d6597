/* pcanswer.c - the C side of the cross-language check: answers lookups read
 * from stdin through pc_get, in the line format every binding's answer tool
 * prints, so that the four answers can be compared byte for byte.
 *
 *   PRICECACHE_PATH=DIR pcanswer < lookups
 *
 * In:  chain TAB store TAB item   (store empty: the base price only)
 * Out: ok TAB cents TAB updated_at TAB flags | notfound | nochain | error TAB PC_NAME */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pricecache.h"

static const char *code_name(int rc)
{
    switch (rc) {
    case PC_NOTFOUND: return "PC_NOTFOUND";
    case PC_ENOCHAIN: return "PC_ENOCHAIN";
    case PC_ENOTREADY: return "PC_ENOTREADY";
    case PC_EOVERLOADED: return "PC_EOVERLOADED";
    case PC_EINVAL: return "PC_EINVAL";
    case PC_EIO: return "PC_EIO";
    case PC_ETIMEDOUT: return "PC_ETIMEDOUT";
    case PC_EFORMAT: return "PC_EFORMAT";
    default: return "PC_UNKNOWN";
    }
}

int main(void)
{
    const char *dir = getenv("PRICECACHE_PATH");
    pc_reader *r;
    int rc = pc_open(dir ? dir : "/var/lib/pricecache", &r);
    if (rc != PC_OK) {
        fprintf(stderr, "pcanswer: cannot open %s: %s\n", dir ? dir : "/var/lib/pricecache",
                pc_strerror(rc));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2) {
            fprintf(stderr, "pcanswer: line %lu: want chain<TAB>store<TAB>item\n", lineno);
            free(line);
            pc_close(r);
            return 2;
        }
        *t1 = *t2 = '\0';
        pc_price p;
        rc = pc_get(r, line, t1 + 1, t2 + 1, &p);
        if (rc == PC_OK)
            printf("ok\t%lld\t%lld\t%u\n", (long long)p.cents, (long long)p.updated_at, p.flags);
        else if (rc == PC_NOTFOUND)
            puts("notfound");
        else if (rc == PC_ENOCHAIN)
            puts("nochain");
        else
            printf("error\t%s\n", code_name(rc));
    }
    free(line);
    pc_close(r);
    return 0;
}
