// reader.cc - the native Reader: a pc_reader wrapped in a JavaScript object.
#include "common.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace pcnode {

namespace {

class Reader : public Napi::ObjectWrap<Reader> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit Reader(const Napi::CallbackInfo &info);
    ~Reader() override { pc_close(r_); }  // the finalizer frees what was not closed

private:
    bool live(Napi::Env env);
    Napi::Value Get(const Napi::CallbackInfo &info);
    Napi::Value GetMany(const Napi::CallbackInfo &info);
    Napi::Value ChainInfo(const Napi::CallbackInfo &info);
    Napi::Value Chains(const Napi::CallbackInfo &info);
    Napi::Value WaitReady(const Napi::CallbackInfo &info);
    Napi::Value BusAddrs(const Napi::CallbackInfo &info);
    Napi::Value Basket(const Napi::CallbackInfo &info);
    Napi::Value BasketMulti(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);
    Napi::Value price(Napi::Env env, const pc_price &p);

    pc_reader *r_ = nullptr;
    bool bigint_ = false;
};

Napi::Function Reader::Define(Napi::Env env)
{
    return DefineClass(env, "NativeReader",
                       {
                           InstanceMethod<&Reader::Get>("get"),
                           InstanceMethod<&Reader::GetMany>("getMany"),
                           InstanceMethod<&Reader::ChainInfo>("chainInfo"),
                           InstanceMethod<&Reader::Chains>("chains"),
                           InstanceMethod<&Reader::WaitReady>("waitReady"),
                           InstanceMethod<&Reader::BusAddrs>("busAddrs"),
                           InstanceMethod<&Reader::Basket>("basket"),
                           InstanceMethod<&Reader::BasketMulti>("basketMulti"),
                           InstanceMethod<&Reader::Close>("close"),
                       });
}

// new NativeReader(path, bigint)
Reader::Reader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Reader>(info)
{
    Napi::Env env = info.Env();
    if (!info[0].IsString()) {
        throw_type(env, "the cache directory must be a string");
        return;
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    if (path.empty() || std::memchr(path.data(), 0, path.size()) != nullptr) {
        throw_range(env, "the cache directory must be a non-empty string without NUL");
        return;
    }
    bigint_ = info[1].ToBoolean().Value();
    int rc = pc_open(path.c_str(), &r_);
    if (rc != PC_OK)
        throw_pc(env, rc, "open " + path);
}

bool Reader::live(Napi::Env env)
{
    if (r_ != nullptr)
        return true;
    throw_closed(env, "reader");
    return false;
}

static std::string key(const Id &chain, const Id &store, const Id &item)
{
    return std::string(chain.buf, chain.len) + "/" + (store.null ? "" : std::string(store.buf, store.len)) +
           "/" + std::string(item.buf, item.len);
}

// get(chain, store, item): true with the price in the scratch area, false
// for no price; throws for the rest.
Napi::Value Reader::Get(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    Id chain, store, item;
    if (!get_id(env, info[0], "chain", PC_CHAIN_MAX, false, &chain) ||
        !get_id(env, info[1], "store", PC_ID_MAX, true, &store) ||
        !get_id(env, info[2], "item", PC_ID_MAX, false, &item))
        return env.Undefined();
    pc_price p;
    int rc = pc_get(r_, chain.buf, store.c_str(), item.buf, &p);
    if (rc == PC_OK) {
        double *s = instance(env)->scratch;
        s[0] = (double)p.cents;
        s[1] = (double)p.updated_at;
        s[2] = (double)p.flags;
        std::memcpy(&s[3], &p.cents, sizeof p.cents);
        std::memcpy(&s[4], &p.updated_at, sizeof p.updated_at);
        return Napi::Boolean::New(env, true);
    }
    if (rc == PC_NOTFOUND)
        return Napi::Boolean::New(env, false);
    throw_pc(env, rc, "get " + key(chain, store, item));
    return env.Undefined();
}

Napi::Value Reader::price(Napi::Env env, const pc_price &p)
{
    Napi::Object o = Napi::Object::New(env);
    o.Set("cents", int64_value(env, p.cents, bigint_));
    o.Set("updatedAt", int64_value(env, p.updated_at, bigint_));
    o.Set("storeException", Napi::Boolean::New(env, (p.flags & PC_PRICE_STORE) != 0));
    return o;
}

// The arguments as owned C strings; throws and returns false on a bad one.
static bool get_ids(Napi::Env env, Napi::Value v, const char *what, const char *suffix,
                    std::vector<std::string> *out)
{
    if (!v.IsArray()) {
        throw_type(env, std::string(what) + " must be an array");
        return false;
    }
    Napi::Array a = v.As<Napi::Array>();
    uint32_t n = a.Length();
    out->reserve(n);
    Id id;
    for (uint32_t i = 0; i < n; i++) {
        napi_value e;
        napi_get_element(env, a, i, &e);
        if (!get_id(env, e, Label(what, i, suffix), PC_ID_MAX, false, &id))
            return false;
        out->emplace_back(id.buf, id.len);
    }
    return true;
}

// Enough tries to see one version on both sides of pc_get_many: a publish
// takes milliseconds, the bracket microseconds.
static const int kVersionTries = 1000;

// getMany(chain, store, items) -> {version, prices}
Napi::Value Reader::GetMany(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    Id chain, store;
    std::vector<std::string> items;
    if (!get_id(env, info[0], "chain", PC_CHAIN_MAX, false, &chain) ||
        !get_id(env, info[1], "store", PC_ID_MAX, true, &store) || !get_ids(env, info[2], "items", "", &items))
        return env.Undefined();
    size_t n = items.size();
    std::vector<const char *> ptrs(n);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = items[i].c_str();
    std::vector<pc_price> out(n);
    std::vector<int> status(n);
    std::string what = "getMany " + std::string(chain.buf, chain.len);
    // pc_get_many reads one version but does not say which: the chain's
    // version read before and after it, when equal, is that version.
    pc_chain_meta before, after;
    std::string item_detail;  // the sentence of the first item that failed
    int tries = 0;
    for (;;) {
        int rc = pc_chain_info(r_, chain.buf, &before);
        if (rc == PC_OK)
            rc = pc_get_many(r_, chain.buf, store.c_str(), n, ptrs.data(), out.data(), status.data());
        if (rc == PC_OK) {
            // Read now: pc_chain_info below is the thread's next call.
            item_detail.clear();
            for (size_t i = 0; i < n; i++) {
                if (status[i] != PC_OK && status[i] != PC_NOTFOUND) {
                    item_detail = pc_errdetail(status[i]);
                    break;
                }
            }
            rc = pc_chain_info(r_, chain.buf, &after);
        }
        if (rc != PC_OK) {
            throw_pc(env, rc, what);
            return env.Undefined();
        }
        if (before.version == after.version)
            break;
        if (++tries == kVersionTries) {
            throw_pc_with(env, PC_ETIMEDOUT, what + " (republished during every try)", "");
            return env.Undefined();
        }
    }
    Napi::Array prices = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
        if (status[i] == PC_OK) {
            prices.Set(i, price(env, out[i]));
        } else if (status[i] == PC_NOTFOUND) {
            prices.Set(i, env.Null());
        } else {
            throw_pc_with(env, status[i], what + " item " + items[i], item_detail);
            return env.Undefined();
        }
    }
    Napi::Object res = Napi::Object::New(env);
    res.Set("version", uint64_value(env, before.version, bigint_));
    res.Set("prices", prices);
    return res;
}

static const char *breaker_name(int b)
{
    return b == PC_BREAKER_CLOSED ? "closed" : b == PC_BREAKER_OPEN ? "open" : b == PC_BREAKER_HALF_OPEN ? "half-open" : "unknown";
}

Napi::Value Reader::ChainInfo(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    Id chain;
    if (!get_id(env, info[0], "chain", PC_CHAIN_MAX, false, &chain))
        return env.Undefined();
    pc_chain_meta m;
    int rc = pc_chain_info(r_, chain.buf, &m);
    if (rc != PC_OK) {
        throw_pc(env, rc, "chainInfo " + std::string(chain.buf, chain.len));
        return env.Undefined();
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("version", uint64_value(env, m.version, bigint_));
    o.Set("loadedAt", int64_value(env, m.loaded_at, bigint_));
    o.Set("baseRows", uint64_value(env, m.base_rows, bigint_));
    o.Set("storeRows", uint64_value(env, m.store_rows, bigint_));
    o.Set("avgCents", int64_value(env, m.avg_cents, bigint_));
    o.Set("breaker", Napi::String::New(env, breaker_name(m.breaker)));
    return o;
}

Napi::Value Reader::Chains(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    char **list = nullptr;
    size_t n = 0;
    int rc = pc_chains(r_, &list, &n);
    if (rc != PC_OK) {
        throw_pc(env, rc, "chains");
        return env.Undefined();
    }
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++)
        a.Set(i, Napi::String::New(env, list[i]));
    pc_free_chains(list);
    return a;
}

// waitReady(timeoutMs): true when ready, false on timeout (0 only checks).
// Blocks the thread: lib/index.js polls with 0 for the Promise variant.
Napi::Value Reader::WaitReady(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    int64_t ms;
    if (!get_int64(env, info[0], Label("timeoutMs"), &ms))
        return env.Undefined();
    int rc = pc_wait_ready(r_, ms < 0 ? -1 : ms > INT32_MAX ? INT32_MAX : (int)ms);
    if (rc == PC_OK || rc == PC_ETIMEDOUT)
        return Napi::Boolean::New(env, rc == PC_OK);
    throw_pc(env, rc, "waitReady");
    return env.Undefined();
}

Napi::Value Reader::BusAddrs(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    char events[1024], control[1024];
    int rc = pc_bus_addrs(r_, events, sizeof events, control, sizeof control);
    if (rc == PC_NOTFOUND)
        return env.Null();
    if (rc != PC_OK) {
        throw_pc(env, rc, "busAddrs");
        return env.Undefined();
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("events", Napi::String::New(env, events));
    o.Set("control", Napi::String::New(env, control));
    return o;
}

// Basket lines as C lines: ids and quantities come in two arrays (lib/index.js
// takes them out of the {item, qty} objects); the strings live in *ids.
static bool get_lines(Napi::Env env, Napi::Value idv, Napi::Value qtyv, std::vector<std::string> *ids,
                      std::vector<pc_basket_item> *lines)
{
    if (!get_ids(env, idv, "items", ".item", ids))
        return false;
    if (!qtyv.IsArray() || qtyv.As<Napi::Array>().Length() != ids->size()) {
        throw_type(env, "basket: quantities do not match the items");
        return false;
    }
    Napi::Array qa = qtyv.As<Napi::Array>();
    size_t n = ids->size();
    lines->resize(n);
    for (size_t i = 0; i < n; i++) {
        napi_value q;
        int64_t qty;
        napi_get_element(env, qa, (uint32_t)i, &q);
        if (!get_int64(env, q, Label("items", (long)i, ".qty"), &qty))
            return false;
        if (qty <= 0) {
            napi_value c = Napi::String::New(env, "PC_EQUANTITY");
            napi_value m = Napi::String::New(env, "pricecache: " + Label("items", (long)i, ".qty").str() +
                                                      " must be positive, got " + std::to_string(qty));
            napi_value err;
            napi_create_range_error(env, c, m, &err);
            Napi::Object(env, err).Set("errno", Napi::Number::New(env, PC_EQUANTITY));
            napi_throw(env, err);
            return false;
        }
        (*lines)[i] = pc_basket_item{ (*ids)[i].c_str(), qty };
    }
    return true;
}

static bool get_uint(Napi::Env env, Napi::Value v, const char *what, unsigned *out)
{
    int64_t x;
    if (!get_int64(env, v, Label(what), &x))
        return false;
    if (x < 0 || x > UINT32_MAX) {
        throw_range(env, std::string(what) + " must be between 0 and 4294967295");
        return false;
    }
    *out = (unsigned)x;
    return true;
}

// Options {penaltyMult, fallbackCents, maxStores, exactMaxItems,
// exactMaxStores, budgetMs}; undefined keeps the defaults.  An unknown key
// is a TypeError: a misspelt option must not be ignored.
static bool get_opts(Napi::Env env, Napi::Value v, pc_basket_opts *o)
{
    pc_basket_opts_init(o);
    if (v.IsUndefined() || v.IsNull())
        return true;
    if (!v.IsObject()) {
        throw_type(env, "options must be an object");
        return false;
    }
    Napi::Object obj = v.As<Napi::Object>();
    Napi::Array keys = obj.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
        std::string k = keys.Get(i).ToString().Utf8Value();
        Napi::Value x = obj.Get(k);
        if (x.IsUndefined())
            continue;
        bool ok;
        if (k == "penaltyMult") {
            ok = x.IsNumber() && std::isfinite(x.As<Napi::Number>().DoubleValue()) &&
                 x.As<Napi::Number>().DoubleValue() >= 0;
            if (!ok) {
                if (x.IsNumber())
                    throw_range(env, "options.penaltyMult must be finite and >= 0");
                else
                    throw_type(env, "options.penaltyMult must be a number");
                return false;
            }
            o->penalty_mult = x.As<Napi::Number>().DoubleValue();
        } else if (k == "fallbackCents") {
            if (!get_int64(env, x, Label("options.fallbackCents"), &o->fallback_cents))
                return false;
        } else if (k == "maxStores") {
            ok = get_uint(env, x, "options.maxStores", &o->max_stores);
            if (!ok)
                return false;
        } else if (k == "exactMaxItems") {
            if (!get_uint(env, x, "options.exactMaxItems", &o->exact_max_items))
                return false;
        } else if (k == "exactMaxStores") {
            if (!get_uint(env, x, "options.exactMaxStores", &o->exact_max_stores))
                return false;
        } else if (k == "budgetMs") {
            if (!get_uint(env, x, "options.budgetMs", &o->budget_ms))
                return false;
        } else {
            throw_type(env, "unknown basket option '" + k + "'");
            return false;
        }
    }
    return true;
}

// A basket result for lib/index.js, which makes the objects (cheaper in
// JavaScript than property by property through Node-API): [buffer, stores,
// algorithm].  The buffer holds N doubles, then the same N slots as exact
// int64 (for amounts beyond 2^53): [0] version, [1] total_cents,
// [2] penalty_total_cents, [3] penalty_cents, [4] avg_cents, [5] nfound,
// [6] nmissing, [7] coverage, [8] penalty_fallback, then six per line:
// qty, source, store index (-1: penalised), unit_cents, line_cents,
// updated_at.  Line items are those asked, in order.
static Napi::Value basket_result(Napi::Env env, const pc_basket_result *res)
{
    const size_t head = 9, per = 6, n = head + per * res->nlines;
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, 2 * n * sizeof(double));
    double *f = static_cast<double *>(buf.Data());
    int64_t *x = reinterpret_cast<int64_t *>(f + n);
    std::memset(x, 0, n * sizeof *x);
    auto put = [f, x](size_t k, int64_t v) {
        f[k] = (double)v;
        x[k] = v;
    };
    put(0, (int64_t)res->version);
    put(1, res->total_cents);
    put(2, res->penalty_total_cents);
    put(3, res->penalty_cents);
    put(4, res->avg_cents);
    f[5] = (double)res->nfound;
    f[6] = (double)res->nmissing;
    f[7] = res->coverage;
    f[8] = res->penalty_fallback ? 1 : 0;
    for (size_t i = 0; i < res->nlines; i++) {
        const pc_basket_line *l = &res->lines[i];
        size_t k = head + per * i;
        put(k, l->qty);
        f[k + 1] = l->source;
        f[k + 2] = l->store;
        put(k + 3, l->unit_cents);
        put(k + 4, l->line_cents);
        put(k + 5, l->updated_at);
    }
    Napi::Array stores = Napi::Array::New(env, res->nstores);
    for (size_t s = 0; s < res->nstores; s++)
        stores.Set(s, Napi::String::New(env, res->stores[s]));
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, buf);
    out.Set(1u, stores);
    out.Set(2u, Napi::String::New(env, res->algorithm_name));
    return out;
}

// basket(chain, store, ids, qtys, opts)
Napi::Value Reader::Basket(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    Id chain, store;
    std::vector<std::string> ids;
    std::vector<pc_basket_item> lines;
    pc_basket_opts opts;
    if (!get_id(env, info[0], "chain", PC_CHAIN_MAX, false, &chain) ||
        !get_id(env, info[1], "store", PC_ID_MAX, true, &store) || !get_lines(env, info[2], info[3], &ids, &lines) ||
        !get_opts(env, info[4], &opts))
        return env.Undefined();
    pc_basket_result *res = nullptr;
    int rc = pc_basket_single(r_, chain.buf, store.c_str(), lines.data(), lines.size(), &opts, &res);
    if (rc != PC_OK) {
        throw_pc(env, rc, "basket " + std::string(chain.buf, chain.len));
        return env.Undefined();
    }
    Napi::Value v = basket_result(env, res);
    pc_basket_free(res);
    return v;
}

// basketMulti(chain, stores, ids, qtys, opts)
Napi::Value Reader::BasketMulti(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!live(env))
        return env.Undefined();
    Id chain;
    std::vector<std::string> stores, ids;
    std::vector<pc_basket_item> lines;
    pc_basket_opts opts;
    if (!get_id(env, info[0], "chain", PC_CHAIN_MAX, false, &chain) || !get_ids(env, info[1], "stores", "", &stores) ||
        !get_lines(env, info[2], info[3], &ids, &lines) || !get_opts(env, info[4], &opts))
        return env.Undefined();
    std::vector<const char *> sp(stores.size());
    for (size_t i = 0; i < stores.size(); i++)
        sp[i] = stores[i].c_str();
    pc_basket_result *res = nullptr;
    int rc = pc_basket_multi(r_, chain.buf, sp.data(), sp.size(), lines.data(), lines.size(), &opts, &res);
    if (rc != PC_OK) {
        throw_pc(env, rc, "basketMulti " + std::string(chain.buf, chain.len));
        return env.Undefined();
    }
    Napi::Value v = basket_result(env, res);
    pc_basket_free(res);
    return v;
}

Napi::Value Reader::Close(const Napi::CallbackInfo &info)
{
    pc_close(r_);
    r_ = nullptr;
    return info.Env().Undefined();
}

}  // namespace

void init_reader(Napi::Env env, Napi::Object exports, Instance *inst)
{
    Napi::Function ctor = Reader::Define(env);
    inst->reader_ctor = Napi::Persistent(ctor);
    exports.Set("NativeReader", ctor);
}

}  // namespace pcnode
