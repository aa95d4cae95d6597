// subscriber.cc - the native Subscriber: a pc_sub whose descriptor libuv polls on the loop.
//
// The loop never blocks on the bus: libuv watches pc_sub_fd and, when it
// polls readable (and every 100 ms, as pricecache.h asks, since the
// descriptor may stay quiet with an event queued), the queue is drained
// with pc_sub_next(s, 0, ...) and the events go to JavaScript in one call.
// A subscriber lives on the thread of its environment only, as pc_sub
// requires.  While open it holds a strong reference to its JavaScript
// object (like an active socket) so it keeps delivering however the caller
// holds it; close() or the environment's exit (an async cleanup hook, so
// libuv closes the handles before a worker's loop goes away) ends it.
#include "common.h"

#include <uv.h>

#include <memory>
#include <vector>

namespace pcnode {

namespace {

const uint64_t kDrainMs = 100;

class Subscriber : public Napi::ObjectWrap<Subscriber> {
public:
    static Napi::Function Define(Napi::Env env);
    explicit Subscriber(const Napi::CallbackInfo &info);
    ~Subscriber() override { shut(); }

private:
    Napi::Value Start(const Napi::CallbackInfo &info);
    Napi::Value Ref(const Napi::CallbackInfo &info);
    Napi::Value Unref(const Napi::CallbackInfo &info);
    Napi::Value Fd(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);

    static void on_poll(uv_poll_t *h, int status, int events);
    static void on_timer(uv_timer_t *h);
    static void on_closed(uv_handle_t *h);
    static void on_cleanup(napi_async_cleanup_hook_handle handle, void *arg);
    void drain();
    void deliver(napi_value err, napi_value events);
    void shut();
    void set_ref();

    // The libuv side, apart: libuv hands it back after the Subscriber may
    // be gone (close callbacks), and it is freed in the last of them.
    struct Handles {
        uv_poll_t poll;
        uv_timer_t timer;
        int open = 2;
        Subscriber *owner;
        napi_async_cleanup_hook_handle hook = nullptr;
    };

    pc_sub *sub_ = nullptr;
    bool bigint_ = false;
    bool ref_ = true;
    napi_env env_ = nullptr;
    Handles *h_ = nullptr;
    Napi::FunctionReference cb_;
    Napi::ObjectReference self_;   // strong while started and open
    std::unique_ptr<Napi::AsyncContext> ctx_;
};

Napi::Function Subscriber::Define(Napi::Env env)
{
    return DefineClass(env, "NativeSubscriber",
                       {
                           InstanceMethod<&Subscriber::Start>("start"),
                           InstanceMethod<&Subscriber::Ref>("ref"),
                           InstanceMethod<&Subscriber::Unref>("unref"),
                           InstanceMethod<&Subscriber::Fd>("fd"),
                           InstanceMethod<&Subscriber::Close>("close"),
                       });
}

// new NativeSubscriber(address, chains, bigint)
Subscriber::Subscriber(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Subscriber>(info)
{
    Napi::Env env = info.Env();
    env_ = env;
    if (!info[0].IsString()) {
        throw_type(env, "the events address must be a string");
        return;
    }
    std::string addr = info[0].As<Napi::String>().Utf8Value();
    std::vector<std::string> chains;
    if (!info[1].IsArray()) {
        throw_type(env, "chains must be an array of strings");
        return;
    }
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
        Id id;
        if (!get_id(env, a.Get(i), Label("chains", i), PC_CHAIN_MAX, false, &id))
            return;
        chains.emplace_back(id.buf, id.len);
    }
    bigint_ = info[2].ToBoolean().Value();
    std::vector<const char *> cp(chains.size());
    for (size_t i = 0; i < chains.size(); i++)
        cp[i] = chains[i].c_str();
    int rc = pc_sub_open(addr.c_str(), cp.empty() ? nullptr : cp.data(), cp.size(), &sub_);
    if (rc != PC_OK)
        throw_pc(env, rc, "subscribe " + addr);
}

// start(callback(err, events[])): begin watching the descriptor.
Napi::Value Subscriber::Start(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (sub_ == nullptr) {
        throw_closed(env, "subscription");
        return env.Undefined();
    }
    if (h_ != nullptr || !info[0].IsFunction()) {
        throw_type(env, h_ != nullptr ? "subscription already started" : "start needs a function");
        return env.Undefined();
    }
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        throw_pc_with(env, PC_EIO, "subscribe: no event loop", "");
        return env.Undefined();
    }
    Handles *h = new Handles();
    h->owner = this;
    if (uv_poll_init(loop, &h->poll, pc_sub_fd(sub_)) != 0) {
        delete h;
        throw_pc_with(env, PC_EIO, "subscribe: the descriptor cannot be polled", "");
        return env.Undefined();
    }
    uv_timer_init(loop, &h->timer);
    h->poll.data = h;
    h->timer.data = h;
    h_ = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    uv_timer_start(&h->timer, on_timer, kDrainMs, kDrainMs);
    set_ref();
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    ctx_.reset(new Napi::AsyncContext(env, "pricecache.Subscription", info.This().As<Napi::Object>()));
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
    napi_add_async_cleanup_hook(env, on_cleanup, h, &h->hook);
    return env.Undefined();
}

void Subscriber::set_ref()
{
    if (h_ == nullptr)
        return;
    uv_handle_t *p = reinterpret_cast<uv_handle_t *>(&h_->poll);
    uv_handle_t *t = reinterpret_cast<uv_handle_t *>(&h_->timer);
    if (ref_) {
        uv_ref(p);
        uv_ref(t);
    } else {
        uv_unref(p);
        uv_unref(t);
    }
}

Napi::Value Subscriber::Ref(const Napi::CallbackInfo &info)
{
    ref_ = true;
    set_ref();
    return info.Env().Undefined();
}

Napi::Value Subscriber::Unref(const Napi::CallbackInfo &info)
{
    ref_ = false;
    set_ref();
    return info.Env().Undefined();
}

Napi::Value Subscriber::Fd(const Napi::CallbackInfo &info)
{
    return Napi::Number::New(info.Env(), sub_ != nullptr ? pc_sub_fd(sub_) : -1);
}

Napi::Value Subscriber::Close(const Napi::CallbackInfo &info)
{
    shut();
    return info.Env().Undefined();
}

void Subscriber::on_poll(uv_poll_t *h, int status, int)
{
    Subscriber *s = static_cast<Handles *>(h->data)->owner;
    if (s == nullptr || s->sub_ == nullptr)
        return;
    if (status < 0) {
        uv_poll_stop(h);  // JavaScript closes the subscription on the error
        Napi::HandleScope scope(s->env_);
        Napi::Error e = Napi::Error::New(s->env_, std::string("pricecache: events: poll failed: ") + uv_strerror(status));
        e.Set("code", Napi::String::New(s->env_, "PC_EIO"));
        s->deliver(e.Value(), nullptr);
        return;
    }
    s->drain();
}

void Subscriber::on_timer(uv_timer_t *h)
{
    Subscriber *s = static_cast<Handles *>(h->data)->owner;
    if (s != nullptr && s->sub_ != nullptr)
        s->drain();
}

static Napi::Object event_object(Napi::Env env, const pc_event &ev, bool bigint)
{
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", Napi::String::New(env, pc_event_kind_name(ev.kind)));
    o.Set("chain", Napi::String::New(env, ev.chain));
    o.Set("seq", uint64_value(env, ev.seq, bigint));
    o.Set("run", uint64_value(env, ev.run, bigint));
    o.Set("tsMs", int64_value(env, ev.ts_ms, bigint));
    o.Set("version", uint64_value(env, ev.version, bigint));
    o.Set("value", Napi::Number::New(env, ev.value));
    o.Set("text", Napi::String::New(env, ev.text));
    return o;
}

// Everything queued, without waiting, in one call to JavaScript.
void Subscriber::drain()
{
    Napi::Env env(env_);
    Napi::HandleScope scope(env);
    Napi::Array events = Napi::Array::New(env);
    uint32_t n = 0;
    pc_event ev;
    napi_value err = nullptr;
    for (;;) {
        int rc = pc_sub_next(sub_, 0, &ev);
        if (rc == PC_OK) {
            events.Set(n++, event_object(env, ev, bigint_));
        } else if (rc == PC_EFORMAT) {
            continue;  // a malformed message was dropped; a gap shows as resync
        } else if (rc == PC_ETIMEDOUT) {
            break;
        } else {
            napi_value c = Napi::String::New(env, code_name(rc));
            napi_value m = Napi::String::New(env, "pricecache: events: " + pc_message(rc, pc_errdetail(rc)));
            napi_create_error(env, c, m, &err);
            break;
        }
    }
    if (n > 0)
        deliver(nullptr, events);
    if (err != nullptr && sub_ != nullptr)
        deliver(err, nullptr);
}

// Call the JavaScript callback as an async resource (so promises and
// nextTick run after it); an exception it throws is the process's
// uncaughtException, as for any event emitter.
void Subscriber::deliver(napi_value err, napi_value events)
{
    Napi::Env env(env_);
    if (cb_.IsEmpty())
        return;
    napi_value args[2] = { err != nullptr ? err : env.Null(), events != nullptr ? events : env.Null() };
    napi_value recv = self_.IsEmpty() ? env.Undefined() : self_.Value();
    napi_value result;
    napi_status st = napi_make_callback(env, *ctx_, recv, cb_.Value(), 2, args, &result);
    if (st == napi_pending_exception) {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);
        napi_fatal_exception(env, ex);
    }
}

void Subscriber::on_closed(uv_handle_t *uh)
{
    Handles *h = static_cast<Handles *>(uh->data);
    if (--h->open > 0)
        return;
    // The environment may end now: nothing of ours is left on its loop.
    if (h->hook != nullptr)
        napi_remove_async_cleanup_hook(h->hook);
    delete h;
}

void Subscriber::on_cleanup(napi_async_cleanup_hook_handle, void *arg)
{
    Handles *h = static_cast<Handles *>(arg);
    if (h->owner != nullptr)
        h->owner->shut();  // on_closed then reports the hook done
}

// Stop watching, close the handles (libuv frees them later), close the
// subscriber and let the JavaScript object be collected.  Idempotent.
void Subscriber::shut()
{
    if (h_ != nullptr) {
        h_->owner = nullptr;
        uv_poll_stop(&h_->poll);  // before pc_sub_close closes the descriptor
        uv_timer_stop(&h_->timer);
        uv_close(reinterpret_cast<uv_handle_t *>(&h_->poll), on_closed);
        uv_close(reinterpret_cast<uv_handle_t *>(&h_->timer), on_closed);
        h_ = nullptr;
    }
    pc_sub_close(sub_);
    sub_ = nullptr;
    if (!cb_.IsEmpty())
        cb_.Reset();
    if (!self_.IsEmpty())
        self_.Reset();
    ctx_.reset();
}

}  // namespace

void init_subscriber(Napi::Env env, Napi::Object exports, Instance *inst)
{
    Napi::Function ctor = Subscriber::Define(env);
    inst->sub_ctor = Napi::Persistent(ctor);
    exports.Set("NativeSubscriber", ctor);
}

}  // namespace pcnode
