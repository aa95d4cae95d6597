/* basket.c - Reader.basket and Reader.basket_multi of the CPython extension: lines in, a Basket out. */
#include "_pricecache.h"

/* ---- baskets ---------------------------------------------------------- */

/* Lines from a mapping {item: qty} or an iterable of (item, qty) pairs.
 * Fills items[] (pointers into the objects held by *keep). */
static int basket_items(PyObject *o, PyObject **keep, pc_basket_item **items, size_t *n)
{
    *keep = NULL;
    *items = NULL;
    PyObject *seq;
    if (PyUnicode_Check(o) || PyBytes_Check(o)) {
        PyErr_SetString(PyExc_TypeError,
                        "items must be (item, quantity) pairs or a mapping item -> quantity");
        return -1;
    }
    if (PyDict_Check(o)) {
        PyObject *it = PyDict_Items(o);
        seq = it ? PySequence_Tuple(it) : NULL;
        Py_XDECREF(it);
    } else if (PyMapping_Check(o) && PyObject_HasAttrString(o, "items")) {
        PyObject *it = PyMapping_Items(o);
        seq = it ? PySequence_Tuple(it) : NULL;
        Py_XDECREF(it);
    } else {
        seq = PySequence_Tuple(o);
    }
    if (!seq)
        return -1;
    *keep = seq;
    Py_ssize_t len = PyTuple_GET_SIZE(seq);
    if (len > PC_BASKET_MAX_ITEMS) {
        pcpy_raise(PC_ETOOMANY, PyUnicode_FromFormat("basket of %zd items (at most %d)", len,
                                                   PC_BASKET_MAX_ITEMS));
        return -1;
    }
    *items = PyMem_Malloc(sizeof **items * (size_t)(len ? len : 1));
    if (!*items) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *pair = PyTuple_GET_ITEM(seq, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            if (!PyList_Check(pair) || PyList_GET_SIZE(pair) != 2) {
                PyErr_Format(PyExc_TypeError,
                             "basket line %zd must be an (item, quantity) pair, not %.100s", i,
                             Py_TYPE(pair)->tp_name);
                return -1;
            }
        }
        PyObject *item = PySequence_Fast_GET_ITEM(pair, 0), *qty = PySequence_Fast_GET_ITEM(pair, 1);
        if (pcpy_item_arg(item, &(*items)[i].item) < 0)
            return -1;
        if (!PyLong_Check(qty)) {
            PyErr_Format(PyExc_TypeError, "quantity of %R must be an int, not %.100s", item,
                         Py_TYPE(qty)->tp_name);
            return -1;
        }
        int over = 0;
        long long q = PyLong_AsLongLongAndOverflow(qty, &over);
        if (q == -1 && PyErr_Occurred())
            return -1;
        if (over || q <= 0) {
            pcpy_bad_arg("quantity of %R must be a positive int64, not %R", item, qty);
            return -1;
        }
        (*items)[i].qty = q;
    }
    *n = (size_t)len;
    return 0;
}

/* Options from keywords; `multi` allows the store-choice ones. */
static int basket_opts(PyObject *kw, int multi, pc_basket_opts *o)
{
    pc_basket_opts_init(o);
    if (!kw)
        return 0;
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kw, &pos, &k, &v)) {
        const char *name = PyUnicode_AsUTF8(k);
        if (!name)
            return -1;
        if (strcmp(name, "penalty_mult") == 0) {
            double d = PyFloat_AsDouble(v);
            if (d == -1.0 && PyErr_Occurred())
                return -1;
            if (!isfinite(d) || d < 0)
                return pcpy_bad_arg("penalty_mult must be finite and >= 0, not %R", v);
            o->penalty_mult = d;
            continue;
        }
        unsigned *u = NULL;
        int64_t *c = NULL;
        if (strcmp(name, "fallback_cents") == 0)
            c = &o->fallback_cents;
        else if (multi && strcmp(name, "max_stores") == 0)
            u = &o->max_stores;
        else if (multi && strcmp(name, "exact_max_items") == 0)
            u = &o->exact_max_items;
        else if (multi && strcmp(name, "exact_max_stores") == 0)
            u = &o->exact_max_stores;
        else if (multi && strcmp(name, "budget_ms") == 0)
            u = &o->budget_ms;
        else {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'",
                         multi ? "basket_multi" : "basket", name);
            return -1;
        }
        if (!PyLong_Check(v)) {
            PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name,
                         Py_TYPE(v)->tp_name);
            return -1;
        }
        int over = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &over);
        if (x == -1 && PyErr_Occurred())
            return -1;
        long long lo = u == &o->max_stores ? 1 : 0;
        long long hi = u ? (long long)UINT_MAX : LLONG_MAX;
        if (over || x < lo || x > hi)
            return pcpy_bad_arg("%s must be an int in %lld..%lld, not %R", name, lo, hi, v);
        if (u)
            *u = (unsigned)x;
        else
            *c = x;
    }
    return 0;
}

static const char *source_name(int s)
{
    return s == PC_LINE_STORE ? "store" : s == PC_LINE_PENALTY ? "penalty" : "base";
}


static PyObject *basket_result(const pc_basket_result *res)
{
    PyObject *stores = PyList_New((Py_ssize_t)res->nstores), *lines = NULL, *out = NULL;
    if (!stores)
        return NULL;
    for (size_t i = 0; i < res->nstores; i++) {
        PyObject *s = pcpy_str(res->stores[i]);
        if (!s)
            goto fail;
        PyList_SET_ITEM(stores, (Py_ssize_t)i, s);
    }
    if (!(lines = PyList_New((Py_ssize_t)res->nlines)))
        goto fail;
    for (size_t i = 0; i < res->nlines; i++) {
        const pc_basket_line *l = &res->lines[i];
        PyObject *store = l->store >= 0 && (size_t)l->store < res->nstores
                              ? Py_NewRef(PyList_GET_ITEM(stores, l->store))
                              : Py_NewRef(Py_None);
        PyObject *src = PyObject_CallFunction(pcpy_LineSource, "s", source_name(l->source));
        if (!src) {
            Py_DECREF(store);
            goto fail;
        }
        PyObject *line = PyObject_CallFunction(pcpy_BasketLine, "NLNNLLL", pcpy_str(l->item),
                                               (long long)l->qty, src, store,
                                               (long long)l->unit_cents,
                                               (long long)l->line_cents,
                                               (long long)l->updated_at);
        if (!line)
            goto fail;
        PyList_SET_ITEM(lines, (Py_ssize_t)i, line);
    }
    out = PyObject_CallFunction(pcpy_Basket, "KsLLLNLnndOO", (unsigned long long)res->version,
                                res->algorithm_name, (long long)res->total_cents,
                                (long long)res->penalty_total_cents,
                                (long long)res->penalty_cents,
                                PyBool_FromLong(res->penalty_fallback),
                                (long long)res->avg_cents, (Py_ssize_t)res->nfound,
                                (Py_ssize_t)res->nmissing, res->coverage, lines, stores);
fail:
    Py_XDECREF(lines);
    Py_DECREF(stores);
    return out;
}

PCPY_DOC(pcpy_basket_doc, "basket($self, chain, store, items, /, *, penalty_mult=2.0, fallback_cents=10000)\n--\n\n"
"Price a basket at one store (store None or '' for the base prices).\n\n"
"items: (item, quantity) pairs, or a mapping item -> quantity; quantities\n"
"are positive ints.  An item with no price is charged a penalty per unit:\n"
"the chain's mean base price times penalty_mult, or fallback_cents when\n"
"the chain has no mean.  Returns a Basket; every price comes from one\n"
"version (Basket.version).  Raises NoChain, NoItems, TooMany, Overflow,\n"
"InvalidArgument.  Releases the GIL.");

PCPY_DOC(pcpy_basket_multi_doc, "basket_multi($self, chain, stores, items, /, *, penalty_mult=2.0, fallback_cents=10000, max_stores=2, exact_max_items=10, exact_max_stores=15, budget_ms=100)\n--\n\n"
"Choose at most max_stores of the candidate stores, and pcpy_where to buy each\n"
"item, for the lowest total (penalties included).  An exact search runs\n"
"for baskets of at most exact_max_items items and exact_max_stores\n"
"candidates, within budget_ms; otherwise a greedy one answers\n"
"(Basket.algorithm says which: 'optimal', 'greedy',\n"
"'greedy_timeout_fallback').  Basket.stores are the stores to visit.\n"
"Raises as basket().  Releases the GIL.");

static PyObject *do_basket(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames, int multi)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "%s() takes 3 positional arguments (chain, %s, items), %zd given",
                     multi ? "basket_multi" : "basket", multi ? "stores" : "store", nargs);
        return NULL;
    }
    PyObject *kw = NULL, *keep = NULL, *stores_t = NULL, *ret = NULL;
    pc_basket_item *items = NULL;
    const char **stores = NULL;
    size_t n = 0, nstores = 0;
    const char *chain, *store = NULL;
    pc_basket_opts opts;
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        if (!(kw = PyDict_New()))
            return NULL;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++)
            if (PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
                goto out;
    }
    if (pcpy_chain_arg(args[0], &chain) < 0 || basket_opts(kw, multi, &opts) < 0)
        goto out;
    if (!multi) {
        if (pcpy_store_arg(args[1], &store) < 0)
            goto out;
    } else {
        if (PyUnicode_Check(args[1]) || PyBytes_Check(args[1])) {
            PyErr_SetString(PyExc_TypeError, "stores must be a sequence of store ids, not one id");
            goto out;
        }
        if (!(stores_t = PySequence_Tuple(args[1])))
            goto out;
        nstores = (size_t)PyTuple_GET_SIZE(stores_t);
        if (nstores == 0) {
            pcpy_bad_arg("stores must not be empty");
            goto out;
        }
        if (nstores > PC_BASKET_MAX_STORES) {
            pcpy_raise(PC_ETOOMANY, PyUnicode_FromFormat("%zu candidate stores (at most %d)",
                                                       nstores, PC_BASKET_MAX_STORES));
            goto out;
        }
        if (!(stores = PyMem_Malloc(sizeof *stores * nstores))) {
            PyErr_NoMemory();
            goto out;
        }
        for (size_t i = 0; i < nstores; i++) {
            Py_ssize_t len;
            if (pcpy_id_arg(PyTuple_GET_ITEM(stores_t, (Py_ssize_t)i), "store", PC_ID_MAX, 0,
                       &stores[i], &len) < 0)
                goto out;
        }
    }
    if (basket_items(args[2], &keep, &items, &n) < 0)
        goto out;
    if (pcpy_enter(self) < 0)
        goto out;
    pc_basket_result *res = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = multi ? pc_basket_multi(self->r, chain, stores, nstores, items, n, &opts, &res)
               : pc_basket_single(self->r, chain, store, items, n, &opts, &res);
    Py_END_ALLOW_THREADS
    pcpy_leave(self);
    if (rc != PC_OK) {
        pcpy_raise(rc, rc == PC_EINVAL ? PyUnicode_FromFormat("chain %R is not a valid chain slug",
                                                            args[0])
                                     : pcpy_where(args[0], multi ? NULL : args[1], NULL));
        goto out;
    }
    ret = basket_result(res);
    pc_basket_free(res);
out:
    Py_XDECREF(kw);
    Py_XDECREF(keep);
    Py_XDECREF(stores_t);
    PyMem_Free(items);
    PyMem_Free(stores);
    return ret;
}

PyObject *pcpy_reader_basket(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    return do_basket(self, args, nargs, kwnames, 0);
}

PyObject *pcpy_reader_basket_multi(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    return do_basket(self, args, nargs, kwnames, 1);
}
