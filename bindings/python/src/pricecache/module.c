/* module.c - CPython extension over libpricecache (pricecache.h): readers, lookups, baskets, events.
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
 *
 * This file: the module, the objects __init__.py hands over, errors and
 * argument conversion; reader.c, basket.c and subscription.c the rest.
 */
#include "_pricecache.h"

/* ---- what __init__.py hands over (_setup) ---------------------------- */

PyTypeObject *pcpy_Price;  /* NamedTuple (cents, updated_at, is_store_exception) */
PyObject *pcpy_ChainInfo, *pcpy_Breaker, *pcpy_BasketLine, *pcpy_Basket, *pcpy_LineSource, *pcpy_Event,
    *pcpy_EventKind;
PyObject *pcpy_ErrorClasses; /* dict: int code -> exception class */
PyObject *pcpy_ErrorBase;    /* pricecache.Error */
PyObject *pcpy_ClosedError;  /* pricecache.ReaderClosed */

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
PyObject *pcpy_raise(int rc, PyObject *what)
{
    PyObject *key = PyLong_FromLong(rc), *cls = NULL, *msg = NULL;
    if (key && pcpy_ErrorClasses)
        cls = PyDict_GetItemWithError(pcpy_ErrorClasses, key);
    Py_XDECREF(key);
    if (PyErr_Occurred())
        goto out;
    if (!cls)
        cls = pcpy_ErrorBase ? pcpy_ErrorBase : PyExc_RuntimeError;
    /* PC_NOTFOUND's text speaks of prices; pcpy_where it is an error (no events
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
int pcpy_bad_arg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!msg)
        return -1;
    PyObject *key = PyLong_FromLong(PC_EINVAL);
    PyObject *cls = key && pcpy_ErrorClasses ? PyDict_GetItemWithError(pcpy_ErrorClasses, key) : NULL;
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
int pcpy_id_arg(PyObject *o, const char *what, size_t max, int empty_ok, const char **s,
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
        return pcpy_bad_arg("%s must not be empty", what);
    if ((size_t)*n > max)
        return pcpy_bad_arg("%s is %zd bytes long, more than the %zu allowed", what, *n, max);
    if (memchr(*s, 0, (size_t)*n))
        return pcpy_bad_arg("%s %R holds a NUL byte", what, o);
    return 0;
}

int pcpy_chain_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    return pcpy_id_arg(o, "chain", PC_CHAIN_MAX, 0, s, &n);
}

/* None or "" -> NULL: the base price only. */
int pcpy_store_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    if (o == Py_None) {
        *s = NULL;
        return 0;
    }
    if (pcpy_id_arg(o, "store", PC_ID_MAX, 1, s, &n) < 0)
        return -1;
    if (n == 0)
        *s = NULL;
    return 0;
}

int pcpy_item_arg(PyObject *o, const char **s)
{
    Py_ssize_t n;
    return pcpy_id_arg(o, "item", PC_ID_MAX, 0, s, &n);
}

/* "chain 'acme'" (+ ", store 's1'") (+ ", item 'x'") for error messages. */
PyObject *pcpy_where(PyObject *chain, PyObject *store, PyObject *item)
{
    if (item && store && store != Py_None)
        return PyUnicode_FromFormat("chain %R, store %R, item %R", chain, store, item);
    if (item)
        return PyUnicode_FromFormat("chain %R, item %R", chain, item);
    if (store && store != Py_None)
        return PyUnicode_FromFormat("chain %R, store %R", chain, store);
    return PyUnicode_FromFormat("chain %R", chain);
}
/* Seconds (None: forever) -> milliseconds for the C calls (-1: forever). */
int pcpy_timeout_ms(PyObject *o, int *ms)
{
    if (o == Py_None) {
        *ms = -1;
        return 0;
    }
    double s = PyFloat_AsDouble(o);
    if (s == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(s) || s < 0)
        return pcpy_bad_arg("timeout must be None or a number of seconds >= 0, not %R", o);
    double v = ceil(s * 1000.0);
    *ms = v > INT_MAX ? -1 : (int)v;
    return 0;
}

/* ---- results ---------------------------------------------------------- */

/* A Price without a call to the class: a NamedTuple is a tuple subclass
 * with no __dict__, so tp_alloc and three items make it, as tuple.__new__
 * would (this is most of get()'s cost otherwise). */
PyObject *pcpy_make_price(const pc_price *p)
{
    PyObject *t = pcpy_Price->tp_alloc(pcpy_Price, 3);
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

PyObject *pcpy_str(const char *s)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

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
    Py_XSETREF(pcpy_Price, (PyTypeObject *)Py_NewRef(price));
    Py_XSETREF(pcpy_ChainInfo, Py_NewRef(ci));
    Py_XSETREF(pcpy_Breaker, Py_NewRef(br));
    Py_XSETREF(pcpy_BasketLine, Py_NewRef(bl));
    Py_XSETREF(pcpy_Basket, Py_NewRef(bk));
    Py_XSETREF(pcpy_LineSource, Py_NewRef(ls));
    Py_XSETREF(pcpy_Event, Py_NewRef(ev));
    Py_XSETREF(pcpy_EventKind, Py_NewRef(ek));
    Py_XSETREF(pcpy_ErrorClasses, Py_NewRef(errs));
    Py_XSETREF(pcpy_ErrorBase, Py_NewRef(base));
    Py_XSETREF(pcpy_ClosedError, Py_NewRef(closed));
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
    if (PyType_Ready(&pcpy_ReaderType) < 0 || PyType_Ready(&pcpy_SubscriptionType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Reader", (PyObject *)&pcpy_ReaderType) < 0 ||
        PyModule_AddObjectRef(m, "Subscription", (PyObject *)&pcpy_SubscriptionType) < 0)
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
