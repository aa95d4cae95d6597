/* subscription.c - Reader.subscribe and the Subscription type of the CPython extension: the daemon's events. */
#include "_pricecache.h"

/* ---- events ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    pc_sub            *s;     /* NULL once closed */
    pid_t              pid;   /* the process that opened it */
    PyThread_type_lock lock;  /* one thread in pc_sub_next at a time */
} Subscription;

static int sub_usable(Subscription *self)
{
    if (!self->s) {
        PyErr_SetString(pcpy_ClosedError ? pcpy_ClosedError : PyExc_ValueError, "the subscription is closed");
        return 0;
    }
    if (self->pid != getpid()) {
        PyErr_SetString(pcpy_ErrorBase ? pcpy_ErrorBase : PyExc_RuntimeError,
                        "the subscription was opened in the parent process: subscribe again "
                        "after fork");
        return 0;
    }
    return 1;
}

PCPY_DOC(pcpy_subscribe_doc, "subscribe($self, /, chains=None, *, address=None)\n--\n\n"
"Follow the daemon's events (all chains, or those in `chains`).  The\n"
"address is the one the daemon announced in the cache unless given.\n"
"Returns a Subscription: iterate it, call get(timeout), or wait on its\n"
"fileno() in a selector or asyncio loop.");

PyObject *pcpy_reader_subscribe(Reader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "chains", "address", NULL };
    PyObject *chains_o = Py_None, *addr_o = Py_None, *chains_t = NULL, *ret = NULL;
    const char **chains = NULL;
    size_t n = 0;
    char events[1024];
    const char *addr;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$O:subscribe", kwlist, &chains_o, &addr_o) ||
        pcpy_reader_closed(self))
        return NULL;
    if (addr_o == Py_None) {
        int rc = pc_bus_addrs(self->r, events, sizeof events, NULL, 0);
        if (rc == PC_OK && !events[0])
            rc = PC_NOTFOUND;
        if (rc == PC_NOTFOUND) {
            return pcpy_raise(rc, PyUnicode_FromString(
                                    "events address: none announced in the cache (daemon with "
                                    "[bus] events off, or never started)"));
        }
        if (rc != PC_OK)
            return pcpy_raise(rc, PyUnicode_FromString("events address"));
        addr = events;
    } else {
        Py_ssize_t len;
        if (pcpy_id_arg(addr_o, "address", 4096, 0, &addr, &len) < 0)
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
            pcpy_bad_arg("chains must not be empty (None follows every chain)");
            goto out;
        }
        if (!(chains = PyMem_Malloc(sizeof *chains * n))) {
            PyErr_NoMemory();
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (pcpy_chain_arg(PyTuple_GET_ITEM(chains_t, (Py_ssize_t)i), &chains[i]) < 0)
                goto out;
    }
    Subscription *sub = PyObject_New(Subscription, &pcpy_SubscriptionType);
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
        pcpy_raise(rc, rc == PC_EINVAL ? PyUnicode_FromFormat("address %s or a chain slug", addr)
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
    PyObject *kind = PyObject_CallFunction(pcpy_EventKind, "s", pc_event_kind_name(e->kind));
    if (!kind)
        return NULL;
    return PyObject_CallFunction(pcpy_Event, "NsKKLKkN", kind, e->chain,
                                 (unsigned long long)e->seq, (unsigned long long)e->run,
                                 (long long)e->ts_ms, (unsigned long long)e->version,
                                 (unsigned long)e->value, pcpy_str(e->text));
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
            return pcpy_raise(rc, PyUnicode_FromString("events"));
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
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:get", kwlist, &to) || pcpy_timeout_ms(to, &ms) < 0)
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

PyTypeObject pcpy_SubscriptionType = {
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
