// common.h - what the addon's files share: per-environment data, argument
// conversion and the one mapping of PC_* codes to JavaScript errors.
#ifndef PRICECACHE_NODE_COMMON_H
#define PRICECACHE_NODE_COMMON_H

#include <napi.h>
#include <pricecache.h>

#include <cstdint>
#include <string>

namespace pcnode {

// Everything the addon keeps per napi_env (main thread and each worker):
// no static JavaScript handle, so every worker gets its own (context-aware).
struct Instance {
    Napi::FunctionReference reader_ctor;
    Napi::FunctionReference sub_ctor;
    // Scratch area that get() fills and the JavaScript side reads, so a
    // lookup answers without creating an object in C++ (see lib/index.js):
    // doubles [0] cents, [1] updated_at, [2] flags; int64 [3] cents,
    // [4] updated_at (exact, for values beyond 2^53).
    Napi::Reference<Napi::ArrayBuffer> scratch_ref;
    double *scratch = nullptr;
};

inline Instance *instance(Napi::Env env) { return env.GetInstanceData<Instance>(); }

// The PC_* name of a code ("PC_ENOCHAIN"); "PC_E<number>" for unknown ones.
std::string code_name(int rc);

// Throw the error for rc: RangeError for codes that name a bad argument
// (PC_EINVAL, PC_ENOITEMS, PC_EQUANTITY, PC_ETOOMANY), Error otherwise;
// .code is the PC_* name, .errno the number, the message
// "pricecache: WHAT: TEXT" (pc_strerror) with, when the library recorded
// one for the failed call, its sentence in parentheses (pc_errdetail).
// The sentence is per thread and lasts until the thread's next call into
// the library: throw_pc reads it, so it must follow the failed call
// directly on the same thread (every call of the addon runs on its
// JavaScript thread).  throw_pc_with takes a sentence read earlier, or ""
// for a code the addon chose itself, which no sentence of the library's
// explains.
void throw_pc(Napi::Env env, int rc, const std::string &what);
void throw_pc_with(Napi::Env env, int rc, const std::string &what, const std::string &detail);
// The text of rc with the sentence, as in those messages.
std::string pc_message(int rc, const std::string &detail);
void throw_type(Napi::Env env, const std::string &msg);   // TypeError, code PC_EINVAL
void throw_range(Napi::Env env, const std::string &msg);  // RangeError, code PC_EINVAL
void throw_closed(Napi::Env env, const char *what);       // Error, code PC_ECLOSED

// An id argument as NUL-terminated UTF-8: room for the longest id plus a
// margin that shows a longer one (UTF-16 to UTF-8 at most triples).
struct Id {
    char buf[3 * PC_ID_MAX + 8];
    size_t len = 0;
    bool null = false;  // null/undefined given where allowed
    const char *c_str() const { return null ? nullptr : buf; }
};

// The name of an argument in messages ("items[3].qty"), made into a string
// only when an error is thrown: loops over many arguments stay cheap.
struct Label {
    const char *base;
    long index = -1;
    const char *suffix = "";
    Label(const char *b) : base(b) {}  // NOLINT: implicit from a literal
    Label(const char *b, long i, const char *s = "") : base(b), index(i), suffix(s) {}
    std::string str() const
    {
        return index < 0 ? std::string(base) : std::string(base) + "[" + std::to_string(index) + "]" + suffix;
    }
};

// Read argument v as an id of at most max bytes.  optional: null,
// undefined and "" mean "none" (the store).  Throws TypeError (not a
// string) or RangeError (empty, NUL inside, too long) and returns false.
bool get_id(Napi::Env env, napi_value v, const Label &what, size_t max, bool optional, Id *out);

// An int64 as a JavaScript value: a BigInt when bigint is set or when it
// lies beyond Number.MAX_SAFE_INTEGER, else a number (never rounded).
Napi::Value int64_value(Napi::Env env, int64_t v, bool bigint);
Napi::Value uint64_value(Napi::Env env, uint64_t v, bool bigint);

// A non-negative integer (number or BigInt) that fits int64; throws and
// returns false otherwise.  what names the argument in the message.
bool get_int64(Napi::Env env, napi_value v, const Label &what, int64_t *out);

void init_reader(Napi::Env env, Napi::Object exports, Instance *inst);
void init_subscriber(Napi::Env env, Napi::Object exports, Instance *inst);

}  // namespace pcnode

#endif
