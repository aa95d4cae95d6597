/* _pricecache.h - what the files of the CPython extension share: the objects
 * __init__.py hands over, errors, argument conversion, the Reader. */
#ifndef PCPY_PRICECACHE_H
#define PCPY_PRICECACHE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <pricecache.h>

/* Every name here is the extension's own: setup.py builds with
 * -fvisibility=hidden, so only PyInit__pricecache leaves the .so. */

/* What __init__.py hands over with _setup() (module.c). */
extern PyTypeObject *pcpy_Price;  /* NamedTuple (cents, updated_at, is_store_exception) */
extern PyObject *pcpy_ChainInfo, *pcpy_Breaker, *pcpy_BasketLine, *pcpy_Basket, *pcpy_LineSource,
    *pcpy_Event, *pcpy_EventKind;
extern PyObject *pcpy_ErrorClasses; /* dict: int code -> exception class */
extern PyObject *pcpy_ErrorBase;    /* pricecache.Error */
extern PyObject *pcpy_ClosedError;  /* pricecache.ReaderClosed */

#define PC_X_NAMES(X) X(PC_OK) X(PC_NOTFOUND) X(PC_ENOCHAIN) X(PC_ENOTREADY) \
    X(PC_EOVERLOADED) X(PC_EINVAL) X(PC_EIO) X(PC_ETIMEDOUT) X(PC_EFORMAT) X(PC_ENOMEM) \
    X(PC_ENOITEMS) X(PC_EQUANTITY) X(PC_ETOOMANY) X(PC_EOVERFLOW) X(PC_EACCES) X(PC_EREFUSED)

/* A docstring shared between files (PyDoc_STRVAR makes it static). */
#define PCPY_DOC(name, str) const char name[] = PyDoc_STR(str)

/* Errors (module.c).  pcpy_raise: the pricecache exception of rc, message
 * "WHAT: TEXT (PC_NAME)"; steals `what` (may be NULL); returns NULL.
 * pcpy_bad_arg: InvalidArgument (a ValueError); returns -1. */
PyObject *pcpy_raise(int rc, PyObject *what);
int pcpy_bad_arg(const char *fmt, ...);

/* Argument conversion (module.c): ids as str (UTF-8) or bytes, checked
 * for length and NUL; a store of None or "" is NULL (base price only). */
int pcpy_id_arg(PyObject *o, const char *what, size_t max, int empty_ok, const char **s,
                Py_ssize_t *n);
int pcpy_chain_arg(PyObject *o, const char **s);
int pcpy_store_arg(PyObject *o, const char **s);
int pcpy_item_arg(PyObject *o, const char **s);
int pcpy_timeout_ms(PyObject *o, int *ms);
PyObject *pcpy_where(PyObject *chain, PyObject *store, PyObject *item);

/* Results (module.c). */
PyObject *pcpy_make_price(const pc_price *p);
PyObject *pcpy_str(const char *s);

/* The Reader (reader.c). */
typedef struct {
    PyObject_HEAD
    pc_reader *r;     /* NULL once closed */
    PyObject  *path;  /* str */
    int        busy;  /* calls in flight with the GIL released */
    int        closing;
} Reader;

extern PyTypeObject pcpy_ReaderType, pcpy_SubscriptionType;
int  pcpy_reader_closed(Reader *self);
/* Around a call that releases the GIL: enter/leave run with the GIL held. */
int  pcpy_enter(Reader *self);
void pcpy_leave(Reader *self);

/* Reader methods defined beside their concern (basket.c, subscription.c). */
extern const char pcpy_basket_doc[], pcpy_basket_multi_doc[], pcpy_subscribe_doc[];
PyObject *pcpy_reader_basket(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames);
PyObject *pcpy_reader_basket_multi(Reader *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames);
PyObject *pcpy_reader_subscribe(Reader *self, PyObject *args, PyObject *kw);

#endif
