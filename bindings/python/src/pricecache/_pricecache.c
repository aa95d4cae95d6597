/* _pricecache.c - CPython extension over libpricecache (pricecache.h): readers, lookups, baskets, events.
 *
 * A thin layer: arguments are checked and converted here, every answer
 * comes from the C library, which alone reads the cache format.  The
 * Python side (__init__.py) defines the result tuples, enums and
 * exceptions and hands them over with _setup().
 *
 * The GIL: pc_get and pc_chain_info run with the GIL held (about a
 * microsecond; dropping and retaking the GIL costs more than the call and
 * makes threads queue for it, see README).  Calls that may take longer
 * release it: get_many, baskets, wait_ready, event waits.  While such a
 * call runs, close() only marks the reader; the last call to leave closes
 * it (pc_close must not run while another thread is inside a call).
 *
 * Fork: the C library reopens the cache in a child by itself, so a Reader
 * needs nothing here.  A Subscription (nanomsg) cannot cross a fork: it
 * remembers its pid and refuses in a child, and is never closed there.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <pricecache.h>

/* ---- what __init__.py hands over (_setup) ---------------------------- */

static PyTypeObject *Price_T;  /* NamedTuple (cents, updated_at, is_store_exception) */
static PyObject *ChainInfo_T, *Breaker_T, *BasketLine_T, *Basket_T, *LineSource_T, *Event_T,
    *EventKind_T;
static PyObject *ErrorClasses; /* dict: int code -> exception class */
static PyObject *ErrorBase;    /* pricecache.Error */
static PyObject *ClosedError;  /* pricecache.ReaderClosed */

#define PC_X_NAMES(X) X(PC_OK) X(PC_NOTFOUND) X(PC_ENOCHAIN) X(PC_ENOTREADY) \
    X(PC_EOVERLOADED) X(PC_EINVAL) X(PC_EIO) X(PC_ETIMEDOUT) X(PC_EFORMAT) X(PC_ENOMEM) \
    X(PC_ENOITEMS) X(PC_EQUANTITY) X(PC_ETOOMANY) X(PC_EOVERFLOW) X(PC_EACCES) X(PC_EREFUSED)

static const char *code_name(int rc)
{
#define PC_X_CASE(c) case c: return #c;
    switch (rc) {
        PC_X_NAMES(PC_X_CASE)
    }
#undef PC_X_CASE
    return "PC_UNKNOWN";
}

/* Raise the pricecache exception of rc (class from the code), its message
 * "WHAT: TEXT (PC_NAME)".  Steals `what` (may be NULL).  Returns NULL. */
static PyObject *raise_pc(int rc, PyObject *what)
{
    PyObject *key = PyLong_FromLong(rc), *cls = NULL, *msg = NULL;
    if (key && ErrorClasses)
        cls = PyDict_GetItemWithError(ErrorClasses, key);
    Py_XDECREF(key);
    if (PyErr_Occurred())
        goto out;
    if (!cls)
        cls = ErrorBase ? ErrorBase : PyExc_RuntimeError;
    /* PC_NOTFOUND's text speaks of prices; where it is an error (no events
     * address) the caller's words say what was not found. */
    /* pc_errdetail: the call that failed ran on this thread just now (the
     * GIL is released around it, the thread stays), so its sentence — e.g.
     * which check of lock.mdb failed — is this error's; else pc_strerror. */
    msg = what && rc == PC_NOTFOUND ? PyUnicode_FromFormat("%U (%s)", what, code_name(rc))
        : what ? PyUnicode_FromFormat("%U: %s (%s)", what, pc_errdetail(rc), code_name(rc))
               : PyUnicode_FromFormat("%s (%s)", pc_errdetail(rc), code_name(rc));
    if (msg) {
        PyObject *exc = PyObject_CallFunction(cls, "Oi", msg, rc);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
    }
out:
    Py_XDECREF(msg);
    Py_XDECREF(what);
    return NULL;
}

/* Raise InvalidArgument (a ValueError) with a message of our own. */
static int bad_arg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!msg)
        return -1;
    PyObject *key = PyLong_FromLong(PC_EINVAL);
    PyObject *cls = key && ErrorClasses ? PyDict_GetItemWithError(ErrorClasses, key) : NULL;
    Py_XDECREF(key);
    if (!cls && !PyErr_Occurred())
        cls = PyExc_ValueError;
    if (cls) {
        PyObject *exc = PyObject_CallFunction(cls, "Oi", msg, PC_EINVAL);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
    }
    Py_DECREF(msg);
    return -1;
}

/* ---- argument conversion --------------------------------------------- */

/* An id argument as bytes: str (UTF-8) or bytes.  The pointer lives as
 * long as `o` (str caches its UTF-8).  `what` names it in errors. */
static int id_arg(PyObject *o, const char *what, size_t max, int empty_ok, const char **s,
                  Py_ssize_t *n)
{
    if (PyUnicode_Check(o)) {
        *s = PyUnicode_AsUTF8AndSize(o, n);
        if (!*s)
            return -1;
    } else if (PyBytes_Check(o)) {
        *s = PyBytes_AS_STRING(o);
        *n = PyBytes_GET_SIZE(o);
    } else {
        PyErr_Format(PyExc_TypeError, "%s must be str or bytes, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    if (*n == 0 && !empty_ok)
        return bad_arg("%s must not be empty", what);
    if ((size_t)*n > max)
        return bad_arg("%s is %zd bytes long, more than the %zu allowed", what, *n, max);
    if (memchr(*s, 0, (size_t)*n))
        return bad_arg("%s %R holds a NUL byte", what, o);
    return 0;
}

static int chain_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    return id_arg(o, "chain", PC_CHAIN_MAX, 0, s, &n);
}

/* None or "" -> NULL: the base price only. */
static int store_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    if (o == Py_None) {
        *s = NULL;
        return 0;
    }
    if (id_arg(o, "store", PC_ID_MAX, 1, s, &n) < 0)
        return -1;
    if (n == 0)
        *s = NULL;
    return 0;
}

static int item_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    return id_arg(o, "item", PC_ID_MAX, 0, s, &n);
}

/* "chain 'acme'" (+ ", store 's1'") (+ ", item 'x'") for error messages. */
static PyObject *where(PyObject *chain, PyObject *store, PyObject *item)
{
    if (item && store && store != Py_None)
        return PyUnicode_FromFormat("chain %R, store %R, item %R", chain, store, item);
    if (item)
        return PyUnicode_FromFormat("chain %R, item %R", chain, item);
    if (store && store != Py_None)
        return PyUnicode_FromFormat("chain %R, store %R", chain, store);
    return PyUnicode_FromFormat("chain %R", chain);
}

/* ---- results ---------------------------------------------------------- */

/* A Price without a call to the class: a NamedTuple is a tuple subclass
 * with no __dict__, so tp_alloc and three items make it, as tuple.__new__
 * would (this is most of get()'s cost otherwise). */
static PyObject *make_price(const pc_price *p)
{
    PyObject *t = Price_T->tp_alloc(Price_T, 3);
    if (!t)
        return NULL;
    PyObject *c = PyLong_FromLongLong(p->cents), *u = PyLong_FromLongLong(p->updated_at);
    if (!c || !u) {
        Py_XDECREF(c);
        Py_XDECREF(u);
        Py_DECREF(t);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, c);
    PyTuple_SET_ITEM(t, 1, u);
    PyTuple_SET_ITEM(t, 2, PyBool_FromLong(p->flags & PC_PRICE_STORE));
    return t;
}

/* ---- Reader ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    pc_reader *r;     /* NULL once closed */
    PyObject  *path;  /* str */
    int        busy;  /* calls in flight with the GIL released */
    int        closing;
} Reader;

static PyTypeObject Reader_Type;

static int reader_closed(Reader *self)
{
    if (self->r && !self->closing)
        return 0;
    PyErr_SetString(ClosedError ? ClosedError : PyExc_ValueError, "the reader is closed");
    return 1;
}

/* Around a call that releases the GIL: enter/leave run with the GIL held. */
static int enter(Reader *self)
{
    if (reader_closed(self))
        return -1;
    self->busy++;
    return 0;
}

static void leave(Reader *self)
{
    if (--self->busy == 0 && self->closing && self->r) {
        pc_close(self->r);
        self->r = NULL;
    }
}

static PyObject *Reader_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "path", NULL };
    PyObject *path;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:Reader", kwlist, PyUnicode_FSDecoder, &path))
        return NULL;
    PyObject *bpath = NULL;
    if (!PyUnicode_FSConverter(path, &bpath)) {
        Py_DECREF(path);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(bpath);
    if (!*p || (size_t)PyBytes_GET_SIZE(bpath) != strlen(p)) {
        Py_DECREF(bpath);
        bad_arg("path %R is empty or holds a NUL byte", path);
        Py_DECREF(path);
        return NULL;
    }
    pc_reader *r = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pc_open(p, &r);
    Py_END_ALLOW_THREADS
    Py_DECREF(bpath);
    if (rc != PC_OK) {
        raise_pc(rc, PyUnicode_FromFormat("cache %R", path));
        Py_DECREF(path);
        return NULL;
    }
    Reader *self = (Reader *)type->tp_alloc(type, 0);
    if (!self) {
        pc_close(r);
        Py_DECREF(path);
        return NULL;
    }
    self->r = r;
    self->path = path;
    return (PyObject *)self;
}

/* The finalizer frees what close() did not.  No call can be in flight: each
 * holds a reference to the reader. */
static void Reader_dealloc(Reader *self)
{
    pc_close(self->r);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(close_doc, "close($self, /)\n--\n\n"
"Close the reader.  Calls on a closed reader raise ReaderClosed; closing\n"
"twice is allowed.  A call still running in another thread finishes first.");

static PyObject *Reader_close(Reader *self, PyObject *unused)
{
    (void)unused;
    if (self->r && !self->closing) {
        self->closing = 1;
        if (self->busy == 0) {
            pc_close(self->r);
            self->r = NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *Reader_enter(Reader *self, PyObject *unused)
{
    (void)unused;
    if (reader_closed(self))
        return NULL;
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *Reader_exit(Reader *self, PyObject *args)
{
    (void)args;
    return Reader_close(self, NULL);
}

PyDoc_STRVAR(get_doc, "get($self, chain, store, item, /)\n--\n\n"
"The price of one item: the store's exception if there is one, else the\n"
"chain's base price.  store None or '' asks for the base price only.\n\n"
"Returns a Price(cents, updated_at, is_store_exception), or None when the\n"
"chain has no price for the item.  Raises NoChain when the chain is not in\n"
"the cache, InvalidArgument (a ValueError) for an empty id, one over\n"
"PC_ID_MAX bytes or one holding a NUL byte, TypeError for a non-str id.");

static PyObject *Reader_get(Reader *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "get() takes 3 arguments (chain, store, item), %zd given",
                     nargs);
        return NULL;
    }
    const char *chain, *store, *item;
    if (chain_arg(args[0], &chain) < 0 || store_arg(args[1], &store) < 0 ||
        item_arg(args[2], &item) < 0)
        return NULL;
    pc_price p;
    int rc;
#ifdef PCPY_GET_NOGIL /* for the measurement in bench.sh only (see README) */
    if (enter(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = pc_get(self->r, chain, store, item, &p);
    Py_END_ALLOW_THREADS
    leave(self);
#else
    if (reader_closed(self))
        return NULL;
    rc = pc_get(self->r, chain, store, item, &p);
#endif
    if (rc == PC_OK)
        return make_price(&p);
    if (rc == PC_NOTFOUND)
        Py_RETURN_NONE;
    if (rc == PC_EINVAL)
        return raise_pc(rc, PyUnicode_FromFormat("chain %R is not a valid chain slug", args[0]));
    return raise_pc(rc, where(args[0], args[1], args[2]));
}

/* The version a call read: pc_get_many does not say, so read the chain's
 * version before and after; equal, they name the version in between. */
static int chain_version(pc_reader *r, const char *chain, uint64_t *v)
{
    pc_chain_meta m;
    int rc = pc_chain_info(r, chain, &m);
    if (rc == PC_OK)
        *v = m.version;
    return rc;
}

PyDoc_STRVAR(get_many_doc, "get_many($self, chain, store, items, /)\n--\n\n"
"The prices of many items of one chain, all read from one version of it.\n\n"
"Returns (version, prices): prices[i] is a Price or None, in the order of\n"
"items.  Raises as get() does; an invalid id anywhere raises before any\n"
"lookup.  Releases the GIL during the lookups.");

#define VERSION_TRIES 16

static PyObject *Reader_get_many(Reader *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "get_many() takes 3 arguments (chain, store, items), %zd given", nargs);
        return NULL;
    }
    const char *chain, *store;
    if (chain_arg(args[0], &chain) < 0 || store_arg(args[1], &store) < 0)
        return NULL;
    if (PyUnicode_Check(args[2]) || PyBytes_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "items must be a sequence of ids, not one id");
        return NULL;
    }
    /* A tuple of our own: a list could be changed by another thread while
     * the GIL is released, freeing the strings we point into. */
    PyObject *items = PySequence_Tuple(args[2]);
    if (!items)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    const char **ids = PyMem_Malloc(sizeof *ids * (size_t)(n ? n : 1));
    pc_price *out = PyMem_Malloc(sizeof *out * (size_t)(n ? n : 1));
    int *status = PyMem_Malloc(sizeof *status * (size_t)(n ? n : 1));
    PyObject *res = NULL, *list = NULL;
    if (!ids || !out || !status) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (item_arg(PyTuple_GET_ITEM(items, i), &ids[i]) < 0)
            goto out;
    if (enter(self) < 0)
        goto out;
    uint64_t v0 = 0, v1 = 1;
    int rc = PC_OK;
    Py_BEGIN_ALLOW_THREADS
    for (int t = 0; t < VERSION_TRIES && rc == PC_OK && v0 != v1; t++) {
        rc = chain_version(self->r, chain, &v0);
        if (rc == PC_OK)
            rc = pc_get_many(self->r, chain, store, (size_t)n, ids, out, status);
        if (rc == PC_OK)
            rc = chain_version(self->r, chain, &v1);
    }
    Py_END_ALLOW_THREADS
    leave(self);
    if (rc == PC_OK && v0 != v1) /* republished 16 times during the calls */
        rc = PC_EOVERLOADED;
    if (rc != PC_OK) {
        raise_pc(rc, where(args[0], args[1], NULL));
        goto out;
    }
    if (!(list = PyList_New(n)))
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p;
        if (status[i] == PC_OK) {
            p = make_price(&out[i]);
        } else if (status[i] == PC_NOTFOUND) {
            p = Py_NewRef(Py_None);
        } else {
            raise_pc(status[i], where(args[0], args[1], PyTuple_GET_ITEM(items, i)));
            goto out;
        }
        if (!p)
            goto out;
        PyList_SET_ITEM(list, i, p);
    }
    res = Py_BuildValue("(KO)", (unsigned long long)v0, list);
out:
    Py_XDECREF(list);
    Py_DECREF(items);
    PyMem_Free(ids);
    PyMem_Free(out);
    PyMem_Free(status);
    return res;
}

PyDoc_STRVAR(chain_info_doc, "chain_info($self, chain, /)\n--\n\n"
"The metadata of a chain's current snapshot: ChainInfo(version,\n"
"loaded_at_ms, base_rows, store_rows, avg_cents, breaker).  Raises NoChain.");

static PyObject *Reader_chain_info(Reader *self, PyObject *chain_o)
{
    const char *chain;
    if (chain_arg(chain_o, &chain) < 0 || reader_closed(self))
        return NULL;
    pc_chain_meta m;
    int rc = pc_chain_info(self->r, chain, &m);
    if (rc == PC_EINVAL)
        return raise_pc(rc, PyUnicode_FromFormat("chain %R is not a valid chain slug", chain_o));
    if (rc != PC_OK)
        return raise_pc(rc, where(chain_o, NULL, NULL));
    PyObject *breaker = PyObject_CallFunction(Breaker_T, "i", m.breaker);
    if (!breaker)
        return NULL;
    PyObject *res = PyObject_CallFunction(ChainInfo_T, "KLKKLN", (unsigned long long)m.version,
                                          (long long)m.loaded_at,
                                          (unsigned long long)m.base_rows,
                                          (unsigned long long)m.store_rows,
                                          (long long)m.avg_cents, breaker);
    return res;
}

PyDoc_STRVAR(chains_doc, "chains($self, /)\n--\n\n"
"The slugs of every chain in the cache, in byte order (a list of str).");

static PyObject *Reader_chains(Reader *self, PyObject *unused)
{
    (void)unused;
    if (reader_closed(self))
        return NULL;
    char **arr;
    size_t n;
    int rc = pc_chains(self->r, &arr, &n);
    if (rc != PC_OK)
        return raise_pc(rc, NULL);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_DecodeUTF8(arr[i], (Py_ssize_t)strlen(arr[i]), "replace");
        if (!s) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    pc_free_chains(arr);
    return list;
}

/* Seconds (None: forever) -> milliseconds for the C calls (-1: forever). */
static int timeout_ms(PyObject *o, int *ms)
{
    if (o == Py_None) {
        *ms = -1;
        return 0;
    }
    double s = PyFloat_AsDouble(o);
    if (s == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(s) || s < 0)
        return bad_arg("timeout must be None or a number of seconds >= 0, not %R", o);
    double v = ceil(s * 1000.0);
    *ms = v > INT_MAX ? -1 : (int)v;
    return 0;
}

PyDoc_STRVAR(wait_ready_doc, "wait_ready($self, /, timeout=None)\n--\n\n"
"Wait until the daemon has loaded every active chain once (or a restarted\n"
"daemon has every chain on disk).  timeout in seconds, None waits for\n"
"ever, 0 only checks.  Returns None when ready; raises Timeout.  Releases\n"
"the GIL while it waits.");

static PyObject *Reader_wait_ready(Reader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "timeout", NULL };
    PyObject *to = Py_None;
    int ms, rc;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait_ready", kwlist, &to) ||
        timeout_ms(to, &ms) < 0)
        return NULL;
    /* Waits in slices so that Ctrl-C (a signal) is seen within 100 ms. */
    for (;;) {
        int slice = ms < 0 || ms > 100 ? 100 : ms;
        if (enter(self) < 0)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        rc = pc_wait_ready(self->r, slice);
        Py_END_ALLOW_THREADS
        leave(self);
        if (rc != PC_ETIMEDOUT || ms == slice)
            break;
        if (ms > 0)
            ms -= slice;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    if (rc != PC_OK)
        return raise_pc(rc, PyUnicode_FromFormat("cache %R", self->path));
    Py_RETURN_NONE;
}

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
        raise_pc(PC_ETOOMANY, PyUnicode_FromFormat("basket of %zd items (at most %d)", len,
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
        if (item_arg(item, &(*items)[i].item) < 0)
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
            bad_arg("quantity of %R must be a positive int64, not %R", item, qty);
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
                return bad_arg("penalty_mult must be finite and >= 0, not %R", v);
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
            return bad_arg("%s must be an int in %lld..%lld, not %R", name, lo, hi, v);
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

static PyObject *str_of(const char *s)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

static PyObject *basket_result(const pc_basket_result *res)
{
    PyObject *stores = PyList_New((Py_ssize_t)res->nstores), *lines = NULL, *out = NULL;
    if (!stores)
        return NULL;
    for (size_t i = 0; i < res->nstores; i++) {
        PyObject *s = str_of(res->stores[i]);
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
        PyObject *src = PyObject_CallFunction(LineSource_T, "s", source_name(l->source));
        if (!src) {
            Py_DECREF(store);
            goto fail;
        }
        PyObject *line = PyObject_CallFunction(BasketLine_T, "NLNNLLL", str_of(l->item),
                                               (long long)l->qty, src, store,
                                               (long long)l->unit_cents,
                                               (long long)l->line_cents,
                                               (long long)l->updated_at);
        if (!line)
            goto fail;
        PyList_SET_ITEM(lines, (Py_ssize_t)i, line);
    }
    out = PyObject_CallFunction(Basket_T, "KsLLLNLnndOO", (unsigned long long)res->version,
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

PyDoc_STRVAR(basket_doc, "basket($self, chain, store, items, /, *, penalty_mult=2.0, fallback_cents=10000)\n--\n\n"
"Price a basket at one store (store None or '' for the base prices).\n\n"
"items: (item, quantity) pairs, or a mapping item -> quantity; quantities\n"
"are positive ints.  An item with no price is charged a penalty per unit:\n"
"the chain's mean base price times penalty_mult, or fallback_cents when\n"
"the chain has no mean.  Returns a Basket; every price comes from one\n"
"version (Basket.version).  Raises NoChain, NoItems, TooMany, Overflow,\n"
"InvalidArgument.  Releases the GIL.");

PyDoc_STRVAR(basket_multi_doc, "basket_multi($self, chain, stores, items, /, *, penalty_mult=2.0, fallback_cents=10000, max_stores=2, exact_max_items=10, exact_max_stores=15, budget_ms=100)\n--\n\n"
"Choose at most max_stores of the candidate stores, and where to buy each\n"
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
    if (chain_arg(args[0], &chain) < 0 || basket_opts(kw, multi, &opts) < 0)
        goto out;
    if (!multi) {
        if (store_arg(args[1], &store) < 0)
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
            bad_arg("stores must not be empty");
            goto out;
        }
        if (nstores > PC_BASKET_MAX_STORES) {
            raise_pc(PC_ETOOMANY, PyUnicode_FromFormat("%zu candidate stores (at most %d)",
                                                       nstores, PC_BASKET_MAX_STORES));
            goto out;
        }
        if (!(stores = PyMem_Malloc(sizeof *stores * nstores))) {
            PyErr_NoMemory();
            goto out;
        }
        for (size_t i = 0; i < nstores; i++) {
            Py_ssize_t len;
            if (id_arg(PyTuple_GET_ITEM(stores_t, (Py_ssize_t)i), "store", PC_ID_MAX, 0,
                       &stores[i], &len) < 0)
                goto out;
        }
    }
    if (basket_items(args[2], &keep, &items, &n) < 0)
        goto out;
    if (enter(self) < 0)
        goto out;
    pc_basket_result *res = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = multi ? pc_basket_multi(self->r, chain, stores, nstores, items, n, &opts, &res)
               : pc_basket_single(self->r, chain, store, items, n, &opts, &res);
    Py_END_ALLOW_THREADS
    leave(self);
    if (rc != PC_OK) {
        raise_pc(rc, rc == PC_EINVAL ? PyUnicode_FromFormat("chain %R is not a valid chain slug",
                                                            args[0])
                                     : where(args[0], multi ? NULL : args[1], NULL));
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

static PyObject *Reader_basket(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    return do_basket(self, args, nargs, kwnames, 0);
}

static PyObject *Reader_basket_multi(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    return do_basket(self, args, nargs, kwnames, 1);
}

/* ---- events ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    pc_sub            *s;     /* NULL once closed */
    pid_t              pid;   /* the process that opened it */
    PyThread_type_lock lock;  /* one thread in pc_sub_next at a time */
} Subscription;

static PyTypeObject Subscription_Type;

static int sub_usable(Subscription *self)
{
    if (!self->s) {
        PyErr_SetString(ClosedError ? ClosedError : PyExc_ValueError, "the subscription is closed");
        return 0;
    }
    if (self->pid != getpid()) {
        PyErr_SetString(ErrorBase ? ErrorBase : PyExc_RuntimeError,
                        "the subscription was opened in the parent process: subscribe again "
                        "after fork");
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(subscribe_doc, "subscribe($self, /, chains=None, *, address=None)\n--\n\n"
"Follow the daemon's events (all chains, or those in `chains`).  The\n"
"address is the one the daemon announced in the cache unless given.\n"
"Returns a Subscription: iterate it, call get(timeout), or wait on its\n"
"fileno() in a selector or asyncio loop.");

static PyObject *Reader_subscribe(Reader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "chains", "address", NULL };
    PyObject *chains_o = Py_None, *addr_o = Py_None, *chains_t = NULL, *ret = NULL;
    const char **chains = NULL;
    size_t n = 0;
    char events[1024];
    const char *addr;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$O:subscribe", kwlist, &chains_o, &addr_o) ||
        reader_closed(self))
        return NULL;
    if (addr_o == Py_None) {
        int rc = pc_bus_addrs(self->r, events, sizeof events, NULL, 0);
        if (rc == PC_OK && !events[0])
            rc = PC_NOTFOUND;
        if (rc == PC_NOTFOUND) {
            return raise_pc(rc, PyUnicode_FromString(
                                    "events address: none announced in the cache (daemon with "
                                    "[bus] events off, or never started)"));
        }
        if (rc != PC_OK)
            return raise_pc(rc, PyUnicode_FromString("events address"));
        addr = events;
    } else {
        Py_ssize_t len;
        if (id_arg(addr_o, "address", 4096, 0, &addr, &len) < 0)
            return NULL;
    }
    if (chains_o != Py_None) {
        if (PyUnicode_Check(chains_o) || PyBytes_Check(chains_o)) {
            PyErr_SetString(PyExc_TypeError, "chains must be a sequence of slugs, not one slug");
            return NULL;
        }
        if (!(chains_t = PySequence_Tuple(chains_o)))
            return NULL;
        n = (size_t)PyTuple_GET_SIZE(chains_t);
        if (n == 0) {
            bad_arg("chains must not be empty (None follows every chain)");
            goto out;
        }
        if (!(chains = PyMem_Malloc(sizeof *chains * n))) {
            PyErr_NoMemory();
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (chain_arg(PyTuple_GET_ITEM(chains_t, (Py_ssize_t)i), &chains[i]) < 0)
                goto out;
    }
    Subscription *sub = PyObject_New(Subscription, &Subscription_Type);
    if (!sub)
        goto out;
    sub->s = NULL;
    sub->pid = getpid();
    sub->lock = PyThread_allocate_lock();
    if (!sub->lock) {
        Py_DECREF(sub);
        PyErr_NoMemory();
        goto out;
    }
    int rc = pc_sub_open(addr, chains, n, &sub->s);
    if (rc != PC_OK) {
        Py_DECREF(sub);
        raise_pc(rc, rc == PC_EINVAL ? PyUnicode_FromFormat("address %s or a chain slug", addr)
                                     : PyUnicode_FromFormat("events at %s", addr));
        goto out;
    }
    ret = (PyObject *)sub;
out:
    Py_XDECREF(chains_t);
    PyMem_Free(chains);
    return ret;
}

static void Subscription_dealloc(Subscription *self)
{
    /* Not in a forked child: the socket belongs to the parent's bus threads. */
    if (self->s && self->pid == getpid())
        pc_sub_close(self->s);
    if (self->lock)
        PyThread_free_lock(self->lock);
    PyObject_Free(self);
}

static PyObject *make_event(const pc_event *e)
{
    PyObject *kind = PyObject_CallFunction(EventKind_T, "s", pc_event_kind_name(e->kind));
    if (!kind)
        return NULL;
    return PyObject_CallFunction(Event_T, "NsKKLKkN", kind, e->chain,
                                 (unsigned long long)e->seq, (unsigned long long)e->run,
                                 (long long)e->ts_ms, (unsigned long long)e->version,
                                 (unsigned long)e->value, str_of(e->text));
}

/* The next event within ms (-1: forever), or None.  Waits in slices of
 * 100 ms with the GIL released (signals are checked between slices, and
 * pc_sub_fd may stay quiet while an event is queued behind filtered ones,
 * so pc_sub_next is called at least that often). */
static PyObject *sub_next(Subscription *self, int ms)
{
    if (!sub_usable(self))
        return NULL;
    pc_event ev;
    int rc, got;
    for (;;) {
        int slice = ms < 0 || ms > 100 ? 100 : ms;
        Py_BEGIN_ALLOW_THREADS
        got = PyThread_acquire_lock(self->lock, WAIT_LOCK);
        rc = self->s ? pc_sub_next(self->s, slice, &ev) : PC_EINVAL;
        PyThread_release_lock(self->lock);
        Py_END_ALLOW_THREADS
        (void)got;
        if (rc == PC_OK)
            return make_event(&ev);
        if (rc == PC_EINVAL && !self->s) { /* closed by another thread meanwhile */
            sub_usable(self);
            return NULL;
        }
        if (rc != PC_ETIMEDOUT && rc != PC_EFORMAT) /* EFORMAT: one dropped, go on */
            return raise_pc(rc, PyUnicode_FromString("events"));
        if (rc == PC_ETIMEDOUT) {
            if (ms == slice)
                Py_RETURN_NONE;
            if (ms > 0)
                ms -= slice;
        }
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
}

PyDoc_STRVAR(sub_get_doc, "get($self, /, timeout=None)\n--\n\n"
"The next Event, waiting up to timeout seconds (None: for ever, 0: only\n"
"what is queued); None when nothing came in time.  An Event of kind\n"
"EventKind.RESYNC means events of that chain were missed: re-read its\n"
"chain_info() and what you derived from it.");

static PyObject *Subscription_get(Subscription *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "timeout", NULL };
    PyObject *to = Py_None;
    int ms;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:get", kwlist, &to) || timeout_ms(to, &ms) < 0)
        return NULL;
    return sub_next(self, ms);
}

static PyObject *Subscription_iternext(Subscription *self)
{
    PyObject *e = sub_next(self, -1);
    return e == Py_None ? (Py_DECREF(e), NULL) : e;
}

static PyObject *Subscription_iter(Subscription *self)
{
    return Py_NewRef(self);
}

PyDoc_STRVAR(sub_fileno_doc, "fileno($self, /)\n--\n\n"
"A descriptor that polls readable when an event may be waiting; then call\n"
"get(0) until it returns None.  Owned by the subscription: do not read or\n"
"close it.  It may stay quiet while an event is queued behind filtered\n"
"ones, so also call get(0) every 100 ms or so.");

static PyObject *Subscription_fileno(Subscription *self, PyObject *unused)
{
    (void)unused;
    if (!sub_usable(self))
        return NULL;
    return PyLong_FromLong(pc_sub_fd(self->s));
}

PyDoc_STRVAR(sub_close_doc, "close($self, /)\n--\n\nClose the subscription (twice is allowed).");

static PyObject *Subscription_close(Subscription *self, PyObject *unused)
{
    (void)unused;
    if (!self->s)
        Py_RETURN_NONE;
    pc_sub *s = self->s;
    /* Waits for a get() in another thread to end its slice. */
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    self->s = NULL;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (self->pid == getpid())
        pc_sub_close(s);
    Py_RETURN_NONE;
}

static PyObject *Subscription_enter(Subscription *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *Subscription_exit(Subscription *self, PyObject *args)
{
    (void)args;
    return Subscription_close(self, NULL);
}

static PyObject *Subscription_closed(Subscription *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->s == NULL);
}

static PyMethodDef Subscription_methods[] = {
    { "get", (PyCFunction)(void (*)(void))Subscription_get, METH_VARARGS | METH_KEYWORDS, sub_get_doc },
    { "fileno", (PyCFunction)Subscription_fileno, METH_NOARGS, sub_fileno_doc },
    { "close", (PyCFunction)Subscription_close, METH_NOARGS, sub_close_doc },
    { "__enter__", (PyCFunction)Subscription_enter, METH_NOARGS, NULL },
    { "__exit__", (PyCFunction)Subscription_exit, METH_VARARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef Subscription_getset[] = {
    { "closed", (getter)Subscription_closed, NULL, "True once closed.", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject Subscription_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pricecache.Subscription",
    .tp_basicsize = sizeof(Subscription),
    .tp_dealloc = (destructor)Subscription_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Events of the daemon, from Reader.subscribe().  Not for two threads "
                        "at once (calls wait for each other)."),
    .tp_iter = (getiterfunc)Subscription_iter,
    .tp_iternext = (iternextfunc)Subscription_iternext,
    .tp_methods = Subscription_methods,
    .tp_getset = Subscription_getset,
};

/* ---- Reader type ------------------------------------------------------ */

static PyObject *Reader_closed_get(Reader *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->r == NULL || self->closing);
}

static PyObject *Reader_path_get(Reader *self, void *unused)
{
    (void)unused;
    return Py_NewRef(self->path);
}

static PyObject *Reader_repr(Reader *self)
{
    return PyUnicode_FromFormat("<pricecache.Reader %R%s>", self->path,
                                self->r && !self->closing ? "" : " closed");
}

static PyMethodDef Reader_methods[] = {
    { "get", (PyCFunction)(void (*)(void))Reader_get, METH_FASTCALL, get_doc },
    { "get_many", (PyCFunction)(void (*)(void))Reader_get_many, METH_FASTCALL, get_many_doc },
    { "chain_info", (PyCFunction)Reader_chain_info, METH_O, chain_info_doc },
    { "chains", (PyCFunction)Reader_chains, METH_NOARGS, chains_doc },
    { "wait_ready", (PyCFunction)(void (*)(void))Reader_wait_ready, METH_VARARGS | METH_KEYWORDS,
      wait_ready_doc },
    { "basket", (PyCFunction)(void (*)(void))Reader_basket, METH_FASTCALL | METH_KEYWORDS,
      basket_doc },
    { "basket_multi", (PyCFunction)(void (*)(void))Reader_basket_multi,
      METH_FASTCALL | METH_KEYWORDS, basket_multi_doc },
    { "subscribe", (PyCFunction)(void (*)(void))Reader_subscribe, METH_VARARGS | METH_KEYWORDS,
      subscribe_doc },
    { "close", (PyCFunction)Reader_close, METH_NOARGS, close_doc },
    { "__enter__", (PyCFunction)Reader_enter, METH_NOARGS, NULL },
    { "__exit__", (PyCFunction)Reader_exit, METH_VARARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef Reader_getset[] = {
    { "closed", (getter)Reader_closed_get, NULL, "True once closed.", NULL },
    { "path", (getter)Reader_path_get, NULL, "The cache directory.", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(Reader_doc, "Reader(path)\n--\n\n"
"A read-only handle on the cache in directory `path` (pricecache.open()\n"
"resolves the default).  A context manager; share it between threads\n"
"freely, and keep using it in children after os.fork() (the library\n"
"reopens the cache there by itself).  Raises NotReady when the daemon has\n"
"not created the cache yet, FormatError for a cache this library cannot\n"
"read, CacheIOError when the files cannot be opened.");

static PyTypeObject Reader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pricecache.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_repr = (reprfunc)Reader_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = Reader_doc,
    .tp_methods = Reader_methods,
    .tp_getset = Reader_getset,
    .tp_new = Reader_new,
};

/* ---- module ----------------------------------------------------------- */

static PyObject *mod_setup(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *price, *ci, *br, *bl, *bk, *ls, *ev, *ek, *errs, *base, *closed;
    if (!PyArg_ParseTuple(args, "O!OOOOOOOO!OO:_setup", &PyType_Type, &price, &ci, &br, &bl, &bk,
                          &ls, &ev, &ek, &PyDict_Type, &errs, &base, &closed))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)price, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "Price must be a tuple subclass");
        return NULL;
    }
    Py_XSETREF(Price_T, (PyTypeObject *)Py_NewRef(price));
    Py_XSETREF(ChainInfo_T, Py_NewRef(ci));
    Py_XSETREF(Breaker_T, Py_NewRef(br));
    Py_XSETREF(BasketLine_T, Py_NewRef(bl));
    Py_XSETREF(Basket_T, Py_NewRef(bk));
    Py_XSETREF(LineSource_T, Py_NewRef(ls));
    Py_XSETREF(Event_T, Py_NewRef(ev));
    Py_XSETREF(EventKind_T, Py_NewRef(ek));
    Py_XSETREF(ErrorClasses, Py_NewRef(errs));
    Py_XSETREF(ErrorBase, Py_NewRef(base));
    Py_XSETREF(ClosedError, Py_NewRef(closed));
    Py_RETURN_NONE;
}

static PyObject *mod_strerror(PyObject *mod, PyObject *arg)
{
    (void)mod;
    int rc = PyLong_AsLong(arg);
    if (rc == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(pc_strerror(rc));
}

static PyObject *mod_lib_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(pc_version());
}

static PyMethodDef mod_methods[] = {
    { "_setup", mod_setup, METH_VARARGS, NULL },
    { "strerror", mod_strerror, METH_O,
      "strerror(code, /)\n--\n\nThe library's text for a PC_* code." },
    { "lib_version", mod_lib_version, METH_NOARGS,
      "lib_version()\n--\n\nThe version of libpricecache in use." },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "pricecache._pricecache",
    "C extension behind the pricecache package; import pricecache instead.", -1, mod_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pricecache(void)
{
    if (PyType_Ready(&Reader_Type) < 0 || PyType_Ready(&Subscription_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Reader", (PyObject *)&Reader_Type) < 0 ||
        PyModule_AddObjectRef(m, "Subscription", (PyObject *)&Subscription_Type) < 0)
        goto fail;
#define PC_X_ADD(c) if (PyModule_AddIntConstant(m, #c, c) < 0) goto fail;
    PC_X_NAMES(PC_X_ADD)
#undef PC_X_ADD
    if (PyModule_AddIntConstant(m, "PC_CHAIN_MAX", PC_CHAIN_MAX) < 0 ||
        PyModule_AddIntConstant(m, "PC_ID_MAX", PC_ID_MAX) < 0 ||
        PyModule_AddIntConstant(m, "PC_BASKET_MAX_ITEMS", PC_BASKET_MAX_ITEMS) < 0 ||
        PyModule_AddIntConstant(m, "PC_BASKET_MAX_STORES", PC_BASKET_MAX_STORES) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
