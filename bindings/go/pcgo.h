// pcgo.h - what the package's cgo preambles share: a failed call's sentence
// (pc_errdetail), taken in the same cgo call as the call itself.
#ifndef PCGO_H
#define PCGO_H

#include <stdlib.h>
#include <string.h>
#include <pricecache.h>

// The library keeps a failed call's sentence per OS thread, until the
// thread's next call.  Two cgo calls may run on two threads (a goroutine
// moves between them), so the sentence is read by the C function that made
// the call, right after it, and handed to Go with the code: malloc'ed,
// freed by Go (why in errors.go); NULL when the library said nothing more
// than pc_strerror(rc), which the Code says.  Never called on success nor
// for PC_NOTFOUND (an answer), nor for a code the binding chose itself.
static inline char *pcgo_why(int rc)
{
	if (rc == PC_OK || rc == PC_NOTFOUND)
		return NULL;
	const char *d = pc_errdetail(rc);
	return strcmp(d, pc_strerror(rc)) != 0 ? strdup(d) : NULL;
}

// A code and its sentence, returned by value: nothing for Go to allocate
// on success.
typedef struct pcgo_rc {
	int   rc;
	char *why;
} pcgo_rc;

static inline pcgo_rc pcgo_ret(int rc)
{
	pcgo_rc r = { rc, rc == PC_OK ? NULL : pcgo_why(rc) };
	return r;
}

// A code the binding chose (an argument refused before C saw it): no
// sentence of the library's belongs to it.
static inline pcgo_rc pcgo_own(int rc)
{
	pcgo_rc r = { rc, NULL };
	return r;
}

#endif
