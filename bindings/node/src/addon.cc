// addon.cc - module entry: per-environment data, errors and argument conversion.
#include "common.h"

#include <cmath>
#include <cstring>

namespace pcnode {

// The public codes of pricecache.h, by name (the header has no name table).
#define PC_NODE_CODES(X) \
    X(PC_OK) X(PC_NOTFOUND) X(PC_ENOCHAIN) X(PC_ENOTREADY) X(PC_EOVERLOADED) X(PC_EINVAL) \
    X(PC_EIO) X(PC_ETIMEDOUT) X(PC_EFORMAT) X(PC_ENOMEM) X(PC_ENOITEMS) X(PC_EQUANTITY) \
    X(PC_ETOOMANY) X(PC_EOVERFLOW) X(PC_EACCES) X(PC_EREFUSED)

std::string code_name(int rc)
{
    switch (rc) {
#define PC_NODE_CASE(c) case c: return #c;
    PC_NODE_CODES(PC_NODE_CASE)
#undef PC_NODE_CASE
    default: return "PC_E" + std::to_string(rc < 0 ? -rc : rc);
    }
}

static bool is_argument_code(int rc)
{
    return rc == PC_EINVAL || rc == PC_ENOITEMS || rc == PC_EQUANTITY || rc == PC_ETOOMANY;
}

static void throw_with(Napi::Env env, napi_status (*make)(napi_env, napi_value, napi_value, napi_value *),
                       const std::string &code, const std::string &msg, int rc)
{
    napi_value c = Napi::String::New(env, code), m = Napi::String::New(env, msg), err;
    if (make(env, c, m, &err) != napi_ok)
        return;
    Napi::Object o(env, err);
    if (rc != 0)
        o.Set("errno", Napi::Number::New(env, rc));
    napi_throw(env, err);
}

std::string pc_message(int rc, const std::string &detail)
{
    std::string text = pc_strerror(rc);
    // pc_errdetail gives pc_strerror's text when it has nothing more.
    return detail.empty() || detail == text ? text : text + " (" + detail + ")";
}

void throw_pc_with(Napi::Env env, int rc, const std::string &what, const std::string &detail)
{
    std::string msg = "pricecache: " + what + ": " + pc_message(rc, detail);
    throw_with(env, is_argument_code(rc) ? napi_create_range_error : napi_create_error,
               code_name(rc), msg, rc);
}

void throw_pc(Napi::Env env, int rc, const std::string &what)
{
    throw_pc_with(env, rc, what, pc_errdetail(rc));
}

void throw_type(Napi::Env env, const std::string &msg)
{
    throw_with(env, napi_create_type_error, "PC_EINVAL", "pricecache: " + msg, PC_EINVAL);
}

void throw_range(Napi::Env env, const std::string &msg)
{
    throw_with(env, napi_create_range_error, "PC_EINVAL", "pricecache: " + msg, PC_EINVAL);
}

void throw_closed(Napi::Env env, const char *what)
{
    throw_with(env, napi_create_error, "PC_ECLOSED",
               std::string("pricecache: ") + what + " is closed", 0);
}

bool get_id(Napi::Env env, napi_value v, const Label &label, size_t max, bool optional, Id *out)
{
    out->null = false;
    size_t len = 0;
    auto what = [&label]() { return label.str(); };
    // One call on the hot path; the type is only looked at when it fails.
    if (napi_get_value_string_utf8(env, v, out->buf, sizeof out->buf, &len) != napi_ok) {
        napi_valuetype t = napi_undefined;
        napi_typeof(env, v, &t);
        if (optional && (t == napi_undefined || t == napi_null)) {
            out->null = true;
            return true;
        }
        throw_type(env, what() + " must be a string" + (optional ? " or null" : ""));
        return false;
    }
    out->len = len;
    if (len == 0) {
        if (optional) {
            out->null = true;
            return true;
        }
        throw_range(env, what() + " is empty");
        return false;
    }
    // A string cut by the buffer still reads longer than max: the buffer
    // holds more than max bytes whatever the cut.
    if (len > max) {
        throw_range(env, what() + " is longer than " + std::to_string(max) +
                             " bytes in UTF-8");
        return false;
    }
    if (std::memchr(out->buf, 0, len) != nullptr) {
        throw_range(env, what() + " holds a NUL character");
        return false;
    }
    return true;
}

static const double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

Napi::Value int64_value(Napi::Env env, int64_t v, bool bigint)
{
    if (!bigint && v <= (int64_t)kMaxSafe && v >= -(int64_t)kMaxSafe)
        return Napi::Number::New(env, (double)v);
    return Napi::BigInt::New(env, v);
}

Napi::Value uint64_value(Napi::Env env, uint64_t v, bool bigint)
{
    if (!bigint && v <= (uint64_t)kMaxSafe)
        return Napi::Number::New(env, (double)v);
    return Napi::BigInt::New(env, v);
}

bool get_int64(Napi::Env env, napi_value value, const Label &what, int64_t *out)
{
    Napi::Value v(env, value);
    if (v.IsBigInt()) {
        bool lossless = false;
        int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
        if (!lossless) {
            throw_range(env, what.str() + " does not fit in int64");
            return false;
        }
        *out = x;
        return true;
    }
    if (!v.IsNumber()) {
        throw_type(env, what.str() + " must be an integer (number or bigint)");
        return false;
    }
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d) {
        throw_range(env, what.str() + " must be an integer, got " + v.ToString().Utf8Value());
        return false;
    }
    if (d > kMaxSafe || d < -kMaxSafe) {
        throw_range(env, what.str() + " is beyond Number.MAX_SAFE_INTEGER: pass a bigint");
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static Napi::Value Strerror(const Napi::CallbackInfo &info)
{
    return Napi::String::New(info.Env(), pc_strerror(info[0].As<Napi::Number>().Int32Value()));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    Instance *inst = new Instance();
    env.SetInstanceData<Instance>(inst);  // deleted with the environment
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, 5 * sizeof(double));
    inst->scratch = static_cast<double *>(ab.Data());
    inst->scratch_ref = Napi::Persistent(ab);
    exports.Set("scratch", ab);
    exports.Set("libraryVersion", Napi::String::New(env, pc_version()));
    exports.Set("strerror", Napi::Function::New(env, Strerror, "strerror"));
    Napi::Object codes = Napi::Object::New(env);
#define PC_NODE_SET(c) codes.Set(#c, Napi::Number::New(env, c));
    PC_NODE_CODES(PC_NODE_SET)
#undef PC_NODE_SET
    exports.Set("codes", codes);
    Napi::Object limits = Napi::Object::New(env);
    limits.Set("CHAIN_MAX", Napi::Number::New(env, PC_CHAIN_MAX));
    limits.Set("ID_MAX", Napi::Number::New(env, PC_ID_MAX));
    limits.Set("BASKET_MAX_ITEMS", Napi::Number::New(env, PC_BASKET_MAX_ITEMS));
    limits.Set("BASKET_MAX_STORES", Napi::Number::New(env, PC_BASKET_MAX_STORES));
    exports.Set("limits", limits);
    init_reader(env, exports, inst);
    init_subscriber(env, exports, inst);
    return exports;
}

}  // namespace pcnode

// Node-API modules are context-aware: Init runs once per environment (the
// main thread and every worker), each with its own Instance.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return pcnode::Init(env, exports); }
NODE_API_MODULE(pricecache, InitModule)
