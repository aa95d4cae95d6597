/* basket.c - basket pricing on one chain version: at one store, or at the cheapest few of several. */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errdetail.h"
#include "pc_format.h"
#include "reader_private.h"
#include "pricecache.h"

/* The cost of an item at a store that has no price for it.  Real costs
 * never reach it: line_cost keeps every |qty × price| below it. */
#define NO_PRICE INT64_MAX
#define AMOUNT_MAX (INT64_MAX - 1)

/* The exact search looks at the clock every this many store sets: often
 * enough to stop within microseconds of the budget, rarely enough that
 * the clock costs nothing next to the sums. */
#define CLOCK_EVERY 32u

static const char *const algorithm_names[] = {
    [PC_BASKET_SINGLE]          = "single",
    [PC_BASKET_OPTIMAL]         = "optimal",
    [PC_BASKET_GREEDY]          = "greedy",
    [PC_BASKET_GREEDY_FALLBACK] = "greedy_timeout_fallback",
};

void pc_basket_opts_init(pc_basket_opts *o)
{
    if (!o)
        return;
    o->penalty_mult = PC_BASKET_PENALTY_MULT;
    o->fallback_cents = PC_BASKET_FALLBACK_CENTS;
    o->max_stores = PC_BASKET_VISIT_STORES;
    o->exact_max_items = PC_BASKET_EXACT_ITEMS;
    o->exact_max_stores = PC_BASKET_EXACT_STORES;
    o->budget_ms = PC_BASKET_BUDGET_MS;
}

/* A basket as the searches see it.  Costs are whole lines (qty × unit), so
 * that the searches only add and compare. */
typedef struct problem {
    const char *chain;
    const char *const *stores; /* m candidates (one for pc_basket_single) */
    size_t m;
    const pc_basket_item *items;
    size_t n;
    int single;
    pc_basket_opts o;
    /* From the read transaction. */
    uint64_t version;
    int64_t  avg_cents;
    int64_t  penalty;          /* per unit */
    int      penalty_fallback;
    int64_t *cost;             /* m × n, store-major: line cost or NO_PRICE */
    int64_t *upd;              /* m × n: updated_at of the price */
    uint8_t *src;              /* m × n: PC_LINE_BASE or PC_LINE_STORE */
    int64_t *pen;              /* n: qty × penalty */
} problem;

/* qty × unit, refusing anything whose magnitude could collide with
 * NO_PRICE or overflow a sum's bound check. */
static int line_cost(int64_t qty, int64_t unit, int64_t *out)
{
    int64_t lim = AMOUNT_MAX / qty; /* qty > 0, checked on entry */
    if (unit > lim || unit < -lim)
        return PC_EOVERFLOW;
    *out = qty * unit;
    return PC_OK;
}

static int add_ok(int64_t a, int64_t b, int64_t *out)
{
    if ((b > 0 && a > AMOUNT_MAX - b) || (b < 0 && a < -AMOUNT_MAX - b))
        return PC_EOVERFLOW;
    *out = a + b;
    return PC_OK;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- reading: every price from one transaction --------------------------- */

static int set_penalty(problem *p, const pc_meta_rec *m)
{
    p->version = m->version;
    p->avg_cents = m->avg_cents;
    if (m->base_rows > 0 && m->avg_cents > 0) {
        double x = (double)m->avg_cents * p->o.penalty_mult;
        if (!(x < (double)AMOUNT_MAX))
            return PC_EOVERFLOW;
        p->penalty = (int64_t)(x + 0.5); /* x >= 0: half away from zero */
        p->penalty_fallback = 0;
    } else {
        p->penalty = p->o.fallback_cents;
        p->penalty_fallback = 1;
    }
    for (size_t i = 0; i < p->n; i++) {
        int rc = line_cost(p->items[i].qty, p->penalty, &p->pen[i]);
        if (rc != PC_OK)
            return rc;
    }
    return PC_OK;
}

static int put_price(problem *p, size_t s, size_t i, const pc_price *pr)
{
    size_t at = s * p->n + i;
    int rc = line_cost(p->items[i].qty, pr->cents, &p->cost[at]);
    p->upd[at] = pr->updated_at;
    p->src[at] = (pr->flags & PC_PRICE_STORE) ? PC_LINE_STORE : PC_LINE_BASE;
    return rc;
}

/* Runs inside the read transaction: copy what the searches need, nothing
 * more, so that the transaction ends before any search starts. */
static int read_prices(void *ctx, const pc_txn_view *v)
{
    problem *p = ctx;
    int rc = set_penalty(p, &v->meta);
    if (rc != PC_OK)
        return rc;
    for (size_t i = 0; i < p->n; i++) {
        const char *item = p->items[i].item;
        pc_price pr;
        if (p->single) {
            rc = v->lookup(v, p->stores[0], item, 0, &pr);
            if (rc == PC_NOTFOUND)
                p->cost[i] = NO_PRICE;
            else if (rc != PC_OK || (rc = put_price(p, 0, i, &pr)) != PC_OK)
                return rc;
            continue;
        }
        /* The base price is the same at every store: read it once, then
         * only the exceptions. */
        pc_price base;
        int brc = v->lookup(v, NULL, item, 0, &base);
        if (brc != PC_OK && brc != PC_NOTFOUND)
            return brc;
        for (size_t s = 0; s < p->m; s++) {
            rc = v->lookup(v, p->stores[s], item, PC_TXN_EXCEPTION_ONLY, &pr);
            if (rc == PC_NOTFOUND && brc == PC_NOTFOUND)
                p->cost[s * p->n + i] = NO_PRICE;
            else if (rc == PC_NOTFOUND)
                rc = put_price(p, s, i, &base);
            else if (rc == PC_OK)
                rc = put_price(p, s, i, &pr);
            if (rc != PC_OK && rc != PC_NOTFOUND)
                return rc;
        }
    }
    return PC_OK;
}

/* With every line at its costliest (in magnitude), does the basket still
 * fit?  Then no partial sum of any search can overflow, and the searches
 * add without checks. */
static int sums_fit(const problem *p)
{
    int64_t bound = 0;
    for (size_t i = 0; i < p->n; i++) {
        int64_t worst = p->pen[i] < 0 ? -p->pen[i] : p->pen[i];
        for (size_t s = 0; s < p->m; s++) {
            int64_t c = p->cost[s * p->n + i];
            if (c != NO_PRICE && (c < 0 ? -c : c) > worst)
                worst = c < 0 ? -c : c;
        }
        if (add_ok(bound, worst, &bound) != PC_OK)
            return PC_EOVERFLOW;
    }
    return PC_OK;
}

/* ---- searches ------------------------------------------------------------ */

/* Exact search, depth-first branch and bound.  Sets are met in
 * lexicographic order of their candidate indices, so the first set met
 * among those with the lowest total and the fewest stores is the one the
 * tie rules pick: replacing the best only on a strict improvement is
 * enough. */
typedef struct exact {
    const problem *p;
    size_t   k;          /* stores visited at most */
    int64_t *cur;        /* (k + 1) × n: cheapest found cost per item at depth d */
    int64_t *suf;        /* (m + 1) × n: cheapest cost per item over stores >= t */
    size_t  *pick;       /* k: the set being looked at */
    size_t  *best;       /* k: the best set so far */
    size_t   best_size;  /* 0: none yet */
    int64_t  best_total;
    unsigned ticks;
    int64_t  deadline;
    int      timed_out;
} exact;

static void exact_dfs(exact *e, size_t depth, size_t next)
{
    const problem *p = e->p;
    size_t n = p->n;
    const int64_t *cur = e->cur + depth * n;
    int64_t *nw = e->cur + (depth + 1) * n;
    for (size_t s = next; s < p->m; s++) {
        if (e->ticks++ % CLOCK_EVERY == 0 && mono_ns() >= e->deadline) {
            e->timed_out = 1;
            return;
        }
        const int64_t *c = p->cost + s * n;
        const int64_t *suf = e->suf + (s + 1) * n;
        int64_t total = 0, bound = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t v = c[i] < cur[i] ? c[i] : cur[i];
            nw[i] = v;
            int64_t eff = v == NO_PRICE ? p->pen[i] : v;
            total += eff;
            /* More stores can only offer more prices: whatever they add,
             * the item costs at least the lower of now and their cheapest. */
            bound += suf[i] < eff ? suf[i] : eff;
        }
        e->pick[depth] = s;
        size_t size = depth + 1;
        if (e->best_size == 0 || total < e->best_total ||
            (total == e->best_total && size < e->best_size)) {
            e->best_total = total;
            e->best_size = size;
            memcpy(e->best, e->pick, size * sizeof *e->pick);
        }
        /* Supersets are larger and come later: they win only by a
         * strictly lower total, or an equal one with fewer stores than
         * the best. */
        if (size < e->k && s + 1 < p->m &&
            (bound < e->best_total || (bound == e->best_total && size + 1 < e->best_size))) {
            exact_dfs(e, depth + 1, s + 1);
            if (e->timed_out)
                return;
        }
    }
}

/* PC_OK with `chosen` set, PC_ETIMEDOUT when the budget ran out first. */
static int search_exact(const problem *p, size_t k, uint8_t *chosen)
{
    size_t n = p->n, m = p->m;
    exact e = { .p = p, .k = k };
    e.deadline = mono_ns() + (int64_t)p->o.budget_ms * 1000000;
    e.cur = malloc((k + 1) * n * sizeof *e.cur);
    e.suf = malloc((m + 1) * n * sizeof *e.suf);
    e.pick = malloc(k * sizeof *e.pick);
    e.best = malloc(k * sizeof *e.best);
    int rc = PC_ENOMEM;
    if (e.cur && e.suf && e.pick && e.best) {
        for (size_t i = 0; i < n; i++) {
            e.cur[i] = NO_PRICE;
            e.suf[m * n + i] = NO_PRICE;
        }
        for (size_t s = m; s-- > 0;)
            for (size_t i = 0; i < n; i++) {
                int64_t c = p->cost[s * n + i], after = e.suf[(s + 1) * n + i];
                e.suf[s * n + i] = c < after ? c : after;
            }
        exact_dfs(&e, 0, 0);
        rc = e.timed_out ? PC_ETIMEDOUT : PC_OK;
        for (size_t j = 0; rc == PC_OK && j < e.best_size; j++)
            chosen[e.best[j]] = 1;
    }
    free(e.cur);
    free(e.suf);
    free(e.pick);
    free(e.best);
    return rc;
}

/* Greedy: start from the best single store, then keep adding the store
 * that lowers the total most, while one does.  O(k × m × n). */
static int search_greedy(const problem *p, size_t k, uint8_t *chosen)
{
    size_t n = p->n, m = p->m;
    int64_t *cur = malloc(n * sizeof *cur);
    if (!cur)
        return PC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        cur[i] = NO_PRICE;
    int64_t cur_total = 0;
    for (size_t step = 0; step < k; step++) {
        size_t best = m;
        int64_t best_total = 0;
        for (size_t s = 0; s < m; s++) {
            if (chosen[s])
                continue;
            const int64_t *c = p->cost + s * n;
            int64_t total = 0;
            for (size_t i = 0; i < n; i++) {
                int64_t v = c[i] < cur[i] ? c[i] : cur[i];
                total += v == NO_PRICE ? p->pen[i] : v;
            }
            if (best == m || total < best_total) {
                best = s;
                best_total = total;
            }
        }
        if (best == m || (step > 0 && best_total >= cur_total))
            break;
        chosen[best] = 1;
        cur_total = best_total;
        const int64_t *c = p->cost + best * n;
        for (size_t i = 0; i < n; i++)
            if (c[i] < cur[i])
                cur[i] = c[i];
    }
    free(cur);
    return PC_OK;
}

/* ---- the result ---------------------------------------------------------- */

static size_t align8(size_t x)
{
    return (x + 7) & ~(size_t)7;
}

/* One allocation holds the result, its lines, its store list and every
 * string, so that pc_basket_free is one free. */
static int build_result(const problem *p, const uint8_t *chosen, int algorithm,
                        pc_basket_result **out)
{
    size_t n = p->n, m = p->m;
    size_t *where = malloc(n * sizeof *where);    /* store of each line, m: none */
    int *slot = malloc(m * sizeof *slot);         /* candidate -> result index */
    if (!where || !slot) {
        free(where);
        free(slot);
        return PC_ENOMEM;
    }
    for (size_t s = 0; s < m; s++)
        slot[s] = -1;
    for (size_t i = 0; i < n; i++) {
        where[i] = m;
        for (size_t s = 0; s < m; s++) {
            int64_t c = p->cost[s * n + i];
            if (chosen[s] && c != NO_PRICE && (where[i] == m || c < p->cost[where[i] * n + i]))
                where[i] = s;
        }
        if (where[i] < m)
            slot[where[i]] = 0;
    }
    if (p->single)
        slot[0] = 0; /* the store asked for is the answer, bought at or not */
    size_t nstores = 0, bytes = 0;
    for (size_t s = 0; s < m; s++)
        if (slot[s] == 0) {
            slot[s] = (int)nstores++;
            bytes += strlen(p->stores[s]) + 1;
        }
    for (size_t i = 0; i < n; i++)
        bytes += strlen(p->items[i].item) + 1;

    size_t off_lines = align8(sizeof(pc_basket_result));
    size_t off_stores = off_lines + align8(n * sizeof(pc_basket_line));
    size_t off_strs = off_stores + align8(nstores * sizeof(const char *));
    char *mem = malloc(off_strs + bytes);
    if (!mem) {
        free(where);
        free(slot);
        return PC_ENOMEM;
    }
    pc_basket_result *res = (pc_basket_result *)(void *)mem;
    pc_basket_line *lines = (pc_basket_line *)(void *)(mem + off_lines);
    const char **stores = (const char **)(void *)(mem + off_stores);
    char *strs = mem + off_strs;
    memset(res, 0, sizeof *res);
    res->version = p->version;
    res->algorithm = algorithm;
    res->algorithm_name = algorithm_names[algorithm];
    res->penalty_cents = p->penalty;
    res->penalty_fallback = p->penalty_fallback;
    res->avg_cents = p->avg_cents;
    res->nlines = n;
    res->lines = lines;
    res->nstores = nstores;
    res->stores = stores;
    for (size_t s = 0; s < m; s++)
        if (slot[s] >= 0) {
            size_t len = strlen(p->stores[s]) + 1;
            memcpy(strs, p->stores[s], len);
            stores[slot[s]] = strs;
            strs += len;
        }
    int rc = PC_OK;
    for (size_t i = 0; i < n; i++) {
        pc_basket_line *l = &lines[i];
        size_t len = strlen(p->items[i].item) + 1;
        memcpy(strs, p->items[i].item, len);
        l->item = strs;
        strs += len;
        l->qty = p->items[i].qty;
        if (where[i] < m) {
            size_t at = where[i] * n + i;
            l->source = p->src[at];
            l->store = slot[where[i]];
            l->line_cents = p->cost[at];
            l->unit_cents = p->cost[at] / l->qty;
            l->updated_at = p->upd[at];
            res->nfound++;
        } else {
            l->source = PC_LINE_PENALTY;
            l->store = -1;
            l->line_cents = p->pen[i];
            l->unit_cents = p->penalty;
            l->updated_at = 0;
            res->nmissing++;
            if (rc == PC_OK)
                rc = add_ok(res->penalty_total_cents, l->line_cents, &res->penalty_total_cents);
        }
        if (rc == PC_OK)
            rc = add_ok(res->total_cents, l->line_cents, &res->total_cents);
    }
    res->coverage = (double)res->nfound / (double)n;
    free(where);
    free(slot);
    if (rc != PC_OK) {
        free(mem);
        return rc;
    }
    *out = res;
    return PC_OK;
}

void pc_basket_free(pc_basket_result *res)
{
    free(res);
}

/* ---- entry points -------------------------------------------------------- */

static int opts_ok(const pc_basket_opts *o)
{
    /* Written so that NaN fails too. */
    return o->penalty_mult >= 0 && o->penalty_mult <= DBL_MAX && o->fallback_cents >= 0 &&
           o->fallback_cents <= AMOUNT_MAX && o->max_stores >= 1;
}

static int id_ok(const char *s)
{
    size_t n = s ? strnlen(s, PC_ID_MAX + 1) : 0;
    return n > 0 && n <= PC_ID_MAX;
}

/* The arguments other than the basket's lines; out is cleared first. */
static int check_call(pc_reader *r, const char *chain, const pc_basket_opts *opts,
                      pc_basket_result **out)
{
    if (out)
        *out = NULL;
    if (!r || !out || !chain || !pc_slug_valid(chain, strnlen(chain, PC_CHAIN_MAX + 1)))
        return PC_EINVAL;
    if (opts && !opts_ok(opts))
        return PC_EINVAL;
    return PC_OK;
}

/* The lines, in the order pricecache.h documents. */
static int check_items(const pc_basket_item *items, size_t n)
{
    if (n == 0)
        return PC_ENOITEMS;
    if (n > PC_BASKET_MAX_ITEMS)
        return PC_ETOOMANY;
    if (!items)
        return PC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(items[i].item))
            return PC_EINVAL;
        if (items[i].qty <= 0)
            return PC_EQUANTITY;
    }
    return PC_OK;
}

/* Read every price in one transaction, then search, then build. */
static int run(pc_reader *r, problem *p, pc_basket_result **out)
{
    size_t cells = p->m * p->n;
    p->cost = malloc(cells * sizeof *p->cost);
    p->upd = malloc(cells * sizeof *p->upd);
    p->src = malloc(cells * sizeof *p->src);
    p->pen = malloc(p->n * sizeof *p->pen);
    uint8_t *chosen = calloc(p->m, 1);
    int rc = PC_ENOMEM;
    if (p->cost && p->upd && p->src && p->pen && chosen)
        rc = pc_reader_with_txn(r, p->chain, read_prices, p);
    if (rc == PC_OK)
        rc = sums_fit(p);
    int algorithm = PC_BASKET_SINGLE;
    if (rc == PC_OK && p->single) {
        chosen[0] = 1;
    } else if (rc == PC_OK) {
        size_t k = p->o.max_stores < p->m ? p->o.max_stores : p->m;
        if (p->n <= p->o.exact_max_items && p->m <= p->o.exact_max_stores) {
            algorithm = PC_BASKET_OPTIMAL;
            rc = search_exact(p, k, chosen);
            if (rc == PC_ETIMEDOUT) {
                /* Whatever the exact search found so far is a partial
                 * answer with no guarantee; greedy gives a whole one. */
                algorithm = PC_BASKET_GREEDY_FALLBACK;
                memset(chosen, 0, p->m);
                rc = search_greedy(p, k, chosen);
            }
        } else {
            algorithm = PC_BASKET_GREEDY;
            rc = search_greedy(p, k, chosen);
        }
    }
    if (rc == PC_OK)
        rc = build_result(p, chosen, algorithm, out);
    free(p->cost);
    free(p->upd);
    free(p->src);
    free(p->pen);
    free(chosen);
    return rc;
}

static int basket_single(pc_reader *r, const char *chain, const char *store,
                         const pc_basket_item *items, size_t n,
                         const pc_basket_opts *opts, pc_basket_result **out)
{
    int rc = check_call(r, chain, opts, out);
    if (rc != PC_OK)
        return rc;
    if (store && *store && !id_ok(store))
        return PC_EINVAL;
    if ((rc = check_items(items, n)) != PC_OK)
        return rc;
    const char *stores[1] = { store ? store : "" };
    problem p = { .chain = chain, .stores = stores, .m = 1, .items = items, .n = n,
                  .single = 1 };
    if (opts)
        p.o = *opts;
    else
        pc_basket_opts_init(&p.o);
    return run(r, &p, out);
}

int pc_basket_single(pc_reader *r, const char *chain, const char *store,
                     const pc_basket_item *items, size_t n,
                     const pc_basket_opts *opts, pc_basket_result **out)
{
    return pc_api_return(basket_single(r, chain, store, items, n, opts, out));
}

static int basket_multi(pc_reader *r, const char *chain,
                        const char *const stores[], size_t nstores,
                        const pc_basket_item *items, size_t n,
                        const pc_basket_opts *opts, pc_basket_result **out)
{
    int rc = check_call(r, chain, opts, out);
    if (rc != PC_OK)
        return rc;
    if (!stores || nstores == 0)
        return PC_EINVAL;
    if (nstores > PC_BASKET_MAX_STORES)
        return PC_ETOOMANY;
    for (size_t s = 0; s < nstores; s++)
        if (!id_ok(stores[s]))
            return PC_EINVAL;
    if ((rc = check_items(items, n)) != PC_OK)
        return rc;
    problem p = { .chain = chain, .stores = stores, .m = nstores, .items = items, .n = n };
    if (opts)
        p.o = *opts;
    else
        pc_basket_opts_init(&p.o);
    return run(r, &p, out);
}

int pc_basket_multi(pc_reader *r, const char *chain,
                    const char *const stores[], size_t nstores,
                    const pc_basket_item *items, size_t n,
                    const pc_basket_opts *opts, pc_basket_result **out)
{
    return pc_api_return(basket_multi(r, chain, stores, nstores, items, n, opts, out));
}
