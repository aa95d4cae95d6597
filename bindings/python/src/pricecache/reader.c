/* reader.c - the Reader type of the CPython extension: open, close, get, get_many, chain_info, chains, wait_ready. */
#include "_pricecache.h"

int pcpy_reader_closed(Reader *self)
{
    if (self->r && !self->closing)
        return 0;
    PyErr_SetString(pcpy_ClosedError ? pcpy_ClosedError : PyExc_ValueError, "the reader is closed");
    return 1;
}

/* Around a call that releases the GIL: pcpy_enter/pcpy_leave run with the GIL held. */
int pcpy_enter(Reader *self)
{
    if (pcpy_reader_closed(self))
        return -1;
    self->busy++;
    return 0;
}

void pcpy_leave(Reader *self)
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
        pcpy_bad_arg("path %R is empty or holds a NUL byte", path);
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
        pcpy_raise(rc, PyUnicode_FromFormat("cache %R", path));
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
    if (pcpy_reader_closed(self))
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
    if (pcpy_chain_arg(args[0], &chain) < 0 || pcpy_store_arg(args[1], &store) < 0 ||
        pcpy_item_arg(args[2], &item) < 0)
        return NULL;
    pc_price p;
    int rc;
#ifdef PCPY_GET_NOGIL /* for the measurement in bench.sh only (see README) */
    if (pcpy_enter(self) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = pc_get(self->r, chain, store, item, &p);
    Py_END_ALLOW_THREADS
    pcpy_leave(self);
#else
    if (pcpy_reader_closed(self))
        return NULL;
    rc = pc_get(self->r, chain, store, item, &p);
#endif
    if (rc == PC_OK)
        return pcpy_make_price(&p);
    if (rc == PC_NOTFOUND)
        Py_RETURN_NONE;
    if (rc == PC_EINVAL)
        return pcpy_raise(rc, PyUnicode_FromFormat("chain %R is not a valid chain slug", args[0]));
    return pcpy_raise(rc, pcpy_where(args[0], args[1], args[2]));
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
    if (pcpy_chain_arg(args[0], &chain) < 0 || pcpy_store_arg(args[1], &store) < 0)
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
        if (pcpy_item_arg(PyTuple_GET_ITEM(items, i), &ids[i]) < 0)
            goto out;
    if (pcpy_enter(self) < 0)
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
    pcpy_leave(self);
    if (rc == PC_OK && v0 != v1) /* republished 16 times during the calls */
        rc = PC_EOVERLOADED;
    if (rc != PC_OK) {
        pcpy_raise(rc, pcpy_where(args[0], args[1], NULL));
        goto out;
    }
    if (!(list = PyList_New(n)))
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p;
        if (status[i] == PC_OK) {
            p = pcpy_make_price(&out[i]);
        } else if (status[i] == PC_NOTFOUND) {
            p = Py_NewRef(Py_None);
        } else {
            pcpy_raise(status[i], pcpy_where(args[0], args[1], PyTuple_GET_ITEM(items, i)));
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
    if (pcpy_chain_arg(chain_o, &chain) < 0 || pcpy_reader_closed(self))
        return NULL;
    pc_chain_meta m;
    int rc = pc_chain_info(self->r, chain, &m);
    if (rc == PC_EINVAL)
        return pcpy_raise(rc, PyUnicode_FromFormat("chain %R is not a valid chain slug", chain_o));
    if (rc != PC_OK)
        return pcpy_raise(rc, pcpy_where(chain_o, NULL, NULL));
    PyObject *breaker = PyObject_CallFunction(pcpy_Breaker, "i", m.breaker);
    if (!breaker)
        return NULL;
    PyObject *res = PyObject_CallFunction(pcpy_ChainInfo, "KLKKLN", (unsigned long long)m.version,
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
    if (pcpy_reader_closed(self))
        return NULL;
    char **arr;
    size_t n;
    int rc = pc_chains(self->r, &arr, &n);
    if (rc != PC_OK)
        return pcpy_raise(rc, NULL);
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


PyDoc_STRVAR(wait_ready_doc, "wait_ready($self, /, timeout=None)\n--\n\n"
"Wait until the daemon has loaded every active chain once (or a restarted\n"
"daemon has every chain on disk).  timeout in seconds, None waits for\n"
"ever, 0 only checks.  Returns None when ready; raises Timeout when the\n"
"time ran out, and at once FormatError when the cache cannot be trusted\n"
"(a damaged lock.mdb: the message says what is wrong).  Releases the GIL\n"
"while it waits.");

static PyObject *Reader_wait_ready(Reader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "timeout", NULL };
    PyObject *to = Py_None;
    int ms, rc;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait_ready", kwlist, &to) ||
        pcpy_timeout_ms(to, &ms) < 0)
        return NULL;
    /* Waits in slices so that Ctrl-C (a signal) is seen within 100 ms. */
    for (;;) {
        int slice = ms < 0 || ms > 100 ? 100 : ms;
        if (pcpy_enter(self) < 0)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        rc = pc_wait_ready(self->r, slice);
        Py_END_ALLOW_THREADS
        pcpy_leave(self);
        if (rc != PC_ETIMEDOUT || ms == slice)
            break;
        if (ms > 0)
            ms -= slice;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    if (rc != PC_OK)
        return pcpy_raise(rc, PyUnicode_FromFormat("cache %R", self->path));
    Py_RETURN_NONE;
}

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
    { "basket", (PyCFunction)(void (*)(void))pcpy_reader_basket, METH_FASTCALL | METH_KEYWORDS,
      pcpy_basket_doc },
    { "basket_multi", (PyCFunction)(void (*)(void))pcpy_reader_basket_multi,
      METH_FASTCALL | METH_KEYWORDS, pcpy_basket_multi_doc },
    { "subscribe", (PyCFunction)(void (*)(void))pcpy_reader_subscribe, METH_VARARGS | METH_KEYWORDS,
      pcpy_subscribe_doc },
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

PyTypeObject pcpy_ReaderType = {
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
