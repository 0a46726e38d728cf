/*
 * Helpers of the XS glue (perl/Redis.xs); see fior_perl.h. Conversions between Perl values and
 * the engine's views, error objects, and the delivery of completions to their Futures.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "fior.h"
#include "fior_perl.h"

/* ----- tokens ------------------------------------------------------------------------------ */

uint64_t fp_future_token(pTHX_ SV *future) {
    if (!SvROK(future))
        croak("Future::IO::Redis: internal error: a Future was expected");
    return (uint64_t)PTR2UV(newRV_inc(SvRV(future)));
}

void fp_release_token(pTHX_ uint64_t token) {
    SvREFCNT_dec(INT2PTR(SV *, (UV)token));
}

/* ----- names ------------------------------------------------------------------------------- */

const char *fp_error_kind_name(FiorErrorKind k) {
    switch (k) {
    case FIOR_ERROR_KIND_CONNECTION: return "connection";
    case FIOR_ERROR_KIND_TIMEOUT: return "timeout";
    case FIOR_ERROR_KIND_PROTOCOL: return "protocol";
    case FIOR_ERROR_KIND_REDIS: return "redis";
    case FIOR_ERROR_KIND_DISCONNECTED: return "disconnected";
    case FIOR_ERROR_KIND_PUB_SUB: return "pubsub";
    default: return "connection";
    }
}

const char *fp_timeout_kind_name(FiorTimeoutKind k) {
    switch (k) {
    case FIOR_TIMEOUT_KIND_REQUEST: return "request";
    case FIOR_TIMEOUT_KIND_CONNECT: return "connect";
    case FIOR_TIMEOUT_KIND_READ: return "read";
    case FIOR_TIMEOUT_KIND_WRITE: return "write";
    default: return NULL;
    }
}

const char *fp_reason_name(FiorDisconnectReason r) {
    switch (r) {
    case FIOR_DISCONNECT_REASON_CONNECTION_LOST: return "connection_lost";
    case FIOR_DISCONNECT_REASON_TIMEOUT: return "timeout";
    case FIOR_DISCONNECT_REASON_SERVER_CLOSED: return "server_closed";
    case FIOR_DISCONNECT_REASON_PROTOCOL_ERROR: return "protocol_error";
    case FIOR_DISCONNECT_REASON_CLIENT: return "client";
    case FIOR_DISCONNECT_REASON_CONNECT_FAILED: return "connect_failed";
    default: return "connection_lost";
    }
}

/* ----- resolving Futures ------------------------------------------------------------------- */

/* Resolving a Future calls its class's `done` or `fail`. The class is the same for every
 * Future of a run (the one Future::IO's implementation makes), so the two methods are looked
 * up once per class, not once per completion (callgrind: about 4,000 instructions less per
 * command). The cache is per interpreter (the XS module's MY_CXT) and owns references to the
 * class and the methods, so neither can be freed while cached; it is refreshed when the class
 * changes or when Perl says any method resolution may have changed (a sub defined or removed
 * anywhere, or this class's @ISA or methods changed). */
static const char resolve_method[] = "done";
static const char reject_method[] = "fail";

void fp_future_cache_init(fp_future_cache *cache) {
    cache->future_class = NULL;
    cache->generation = 0;
    cache->done = cache->fail = NULL;
}

void fp_future_cache_forget(pTHX_ fp_future_cache *cache) {
    SvREFCNT_dec((SV *)cache->future_class);
    SvREFCNT_dec((SV *)cache->done);
    SvREFCNT_dec((SV *)cache->fail);
    fp_future_cache_init(cache);
}

/* The class's `done` (or `fail`) CV; NULL when it is not a plain method (none defined, or
 * only reachable through AUTOLOAD), for the caller to fall back to call_method. */
static CV *future_method(pTHX_ fp_future_cache *cache, SV *future, const char *name) {
    HV *stash = SvSTASH(SvRV(future));
    U32 gen = PL_sub_generation + HvMROMETA(stash)->cache_gen;
    if (stash != cache->future_class || gen != cache->generation) {
        GV *done = gv_fetchmethod_autoload(stash, resolve_method, FALSE);
        GV *fail = gv_fetchmethod_autoload(stash, reject_method, FALSE);
        fp_future_cache_forget(aTHX_ cache);
        if (!done || !fail || !GvCV(done) || !GvCV(fail))
            return NULL;
        cache->future_class = (HV *)SvREFCNT_inc_simple_NN((SV *)stash);
        cache->generation = gen;
        cache->done = (CV *)SvREFCNT_inc_simple_NN((SV *)GvCV(done));
        cache->fail = (CV *)SvREFCNT_inc_simple_NN((SV *)GvCV(fail));
    }
    return name == resolve_method ? cache->done : cache->fail;
}

/* ----- error objects ----------------------------------------------------------------------- */

/* The class from_kind picks for a kind (Future::IO::Redis::Error's %KIND_CLASS). */
static const char *error_class(const char *kind) {
    if (strEQ(kind, "redis"))
        return "Future::IO::Redis::Error::Redis";
    if (strEQ(kind, "connection"))
        return "Future::IO::Redis::Error::Connection";
    if (strEQ(kind, "timeout"))
        return "Future::IO::Redis::Error::Timeout";
    if (strEQ(kind, "protocol"))
        return "Future::IO::Redis::Error::Protocol";
    if (strEQ(kind, "disconnected"))
        return "Future::IO::Redis::Error::Disconnected";
    if (strEQ(kind, "pubsub"))
        return "Future::IO::Redis::Error::PubSub";
    return "Future::IO::Redis::Error";
}

/* The error object built in C, for when from_kind died: { message, fields..., code for a Redis
 * error } blessed into the kind's class, the shape the Perl constructors give. An empty message
 * gets the words Future::IO::Redis::Error::Redis documents for an empty error reply. */
static SV *plain_error(pTHX_ const char *kind, const char *msg, STRLEN len, int nfields, const char **names, SV **values) {
    HV *hv = newHV();
    int i;
    int redis = strEQ(kind, "redis");
    if (len)
        (void)hv_stores(hv, "message", newSVpvn(msg, len));
    else if (redis)
        (void)hv_stores(hv, "message", newSVpvs("the server sent an empty error reply"));
    else
        (void)hv_stores(hv, "message", newSVpvs("an error without a message"));
    for (i = 0; i < nfields; i++) {
        if (SvROK(values[i]))
            continue; /* a command's words: unredacted here, so left out */
        (void)hv_store(hv, names[i], (I32)strlen(names[i]), newSVsv(values[i]), 0);
    }
    if (redis) {
        /* The first word when it looks like a code (WRONGTYPE, NOSCRIPT, ...), else ERR. */
        STRLEN n = 0;
        while (n < len && msg[n] != ' ')
            n++;
        if (n > 0 && isUPPER(msg[0])) {
            STRLEN k;
            for (k = 1; k < n; k++)
                if (!(isUPPER(msg[k]) || isDIGIT(msg[k]) || msg[k] == '_' || msg[k] == '-'))
                    break;
            if (k < n)
                n = 0;
        } else {
            n = 0;
        }
        (void)hv_stores(hv, "code", n ? newSVpvn(msg, n) : newSVpvs("ERR"));
    }
    return sv_bless(newRV_noinc((SV *)hv), gv_stashpv(error_class(kind), GV_ADD));
}

/*
 * Future::IO::Redis::Error->from_kind($kind, $message, %fields); fields are name/SV pairs (their
 * references are taken). Never dies: this runs while deliver resolves Futures, where a croak
 * would leave the Future being resolved, and every completion after it, pending for ever. So
 * from_kind runs under G_EVAL with $@ localised, and if it dies anyway (an empty message it
 * refuses, a class that failed to load) the object is built in C instead.
 */
SV *fp_new_error(pTHX_ const char *kind, const char *msg, STRLEN len, int nfields, const char **names, SV **values) {
    dSP;
    int i, count;
    SV *err = NULL;
    ENTER;
    SAVETMPS;
    save_scalar(PL_errgv); /* local $@ */
    PUSHMARK(SP);
    EXTEND(SP, 3 + 2 * nfields);
    mPUSHs(newSVpvs("Future::IO::Redis::Error"));
    mPUSHs(newSVpv(kind, 0));
    mPUSHs(newSVpvn(msg, len));
    for (i = 0; i < nfields; i++) {
        mPUSHs(newSVpv(names[i], 0));
        PUSHs(sv_2mortal(values[i]));
    }
    PUTBACK;
    count = call_method("from_kind", G_SCALAR | G_EVAL);
    SPAGAIN;
    if (count > 0) {
        SV *got = POPs;
        if (!SvTRUE(ERRSV) && SvROK(got))
            err = newSVsv(got);
    }
    PUTBACK;
    if (!err)
        err = plain_error(aTHX_ kind, msg, len, nfields, names, values);
    FREETMPS;
    LEAVE;
    return err;
}

SV *fp_redis_error(pTHX_ const uint8_t *ptr, size_t len) {
    return fp_new_error(aTHX_ "redis", (const char *)ptr, len, 0, NULL, NULL);
}

/* ----- replies ----------------------------------------------------------------------------- */

/* A reply (pre-order nodes) as a Perl value, without recursion: an explicit stack of the arrays
 * being filled. */
SV *fp_reply_to_sv(pTHX_ const FiorNode *nodes, size_t n) {
    struct frame { AV *av; size_t left; };
    struct frame stackbuf[32];
    struct frame *stack = stackbuf;
    size_t depth = 0, cap = 32, i;
    SV *root = NULL;
    for (i = 0; i < n; i++) {
        const FiorNode *nd = &nodes[i];
        SV *sv;
        AV *child = NULL;
        switch (nd->kind) {
        case FIOR_NODE_KIND_SIMPLE:
        case FIOR_NODE_KIND_BULK:
            sv = newSVpvn((const char *)nd->ptr, nd->len);
            break;
        case FIOR_NODE_KIND_INTEGER:
            sv = newSViv((IV)nd->integer);
            break;
        case FIOR_NODE_KIND_ERROR:
            sv = fp_redis_error(aTHX_ nd->ptr, nd->len);
            break;
        case FIOR_NODE_KIND_ARRAY:
            child = newAV();
            if (nd->len > 0)
                av_extend(child, (SSize_t)nd->len - 1);
            sv = newRV_noinc((SV *)child);
            break;
        default:
            sv = newSV(0);
            break;
        }
        if (depth == 0) {
            root = sv;
        } else {
            av_push(stack[depth - 1].av, sv);
            stack[depth - 1].left--;
        }
        if (child && nd->len > 0) {
            if (depth == cap) {
                size_t ncap = cap * 2;
                if (stack == stackbuf) {
                    struct frame *grown;
                    Newx(grown, ncap, struct frame);
                    Copy(stackbuf, grown, cap, struct frame);
                    stack = grown;
                } else {
                    Renew(stack, ncap, struct frame);
                }
                cap = ncap;
            }
            stack[depth].av = child;
            stack[depth].left = nd->len;
            depth++;
        }
        while (depth > 0 && stack[depth - 1].left == 0)
            depth--;
    }
    if (stack != stackbuf)
        Safefree(stack);
    return root ? root : newSV(0);
}

/* A reply that is one large bulk string, as a string that adopts the engine's buffer instead of
 * a copy of it (fior_engine_take_bulk); NULL for any other completion, or where perl's
 * allocator is not the C library's malloc/free, which the buffer comes from (the caller then
 * copies). The engine shrank the allocation to the string, its NUL and one byte more: SvLEN is
 * the whole allocation, and perl can share the string copy-on-write like any of its own (the
 * Futures a reply passes through copy their values). */
SV *fp_adopt_bulk(pTHX_ FiorEngine *engine, const FiorCompletion *c) {
#if defined(PERL_TRACK_MEMPOOL) || defined(MYMALLOC) || defined(PERL_IMPLICIT_SYS)
    PERL_UNUSED_ARG(engine);
    PERL_UNUSED_ARG(c);
    return NULL;
#else
    FiorOwnedBytes b;
    SV *sv;
    if (c->kind != FIOR_COMPLETION_KIND_REPLY || c->node_count != 1 || c->nodes[0].kind != FIOR_NODE_KIND_BULK)
        return NULL;
    if (!fior_engine_take_bulk(engine, &b))
        return NULL;
    sv = newSV_type(SVt_PV);
    sv_usepvn_flags(sv, (char *)b.ptr, b.len, SV_HAS_TRAILING_NUL);
    SvLEN_set(sv, b.capacity);
    return sv;
#endif
}

/* The error object of a failed request or an error event: its kind's class, with the fields the
 * engine gave (see FiorCompletion in fior.h). */
#define MAX_ERROR_FIELDS 12
static SV *completion_error(pTHX_ const FiorCompletion *c) {
    const char *names[MAX_ERROR_FIELDS];
    SV *values[MAX_ERROR_FIELDS];
    int nf = 0;
    const char *tk = fp_timeout_kind_name(c->timeout_kind);
    int timeout = c->error_kind == FIOR_ERROR_KIND_TIMEOUT;
    if (c->command.ptr) {
        names[nf] = "command_name";
        values[nf++] = newSVpvn((const char *)c->command.ptr, c->command.len);
    }
    if (timeout && c->word_count > 0 && c->words) {
        /* The command's words: the Timeout class redacts secret-bearing ones as it stores them. */
        AV *words = newAV();
        size_t i;
        av_extend(words, (SSize_t)c->word_count - 1);
        for (i = 0; i < c->word_count; i++)
            av_push(words, newSVpvn((const char *)c->words[i].ptr, c->words[i].len));
        names[nf] = "command";
        values[nf++] = newRV_noinc((SV *)words);
    } else if (c->command.ptr) {
        names[nf] = "command";
        values[nf++] = newSVpvn((const char *)c->command.ptr, c->command.len);
    }
    if (tk) {
        names[nf] = "kind";
        values[nf++] = newSVpv(tk, 0);
    }
    if (c->timeout >= 0) {
        names[nf] = "timeout";
        values[nf++] = newSVnv(c->timeout);
    }
    if (timeout) {
        names[nf] = "maybe_executed";
        values[nf++] = newSViv(c->maybe_executed ? 1 : 0);
    }
    if (c->error_kind == FIOR_ERROR_KIND_CONNECTION && c->reason != FIOR_DISCONNECT_REASON_NONE) {
        names[nf] = "reason";
        values[nf++] = newSVpv(fp_reason_name(c->reason), 0);
    }
    if (c->host.ptr) {
        names[nf] = "host";
        values[nf++] = newSVpvn((const char *)c->host.ptr, c->host.len);
        names[nf] = "port";
        values[nf++] = newSVuv(c->port);
    }
    if (c->path.ptr) {
        names[nf] = "path";
        values[nf++] = newSVpvn((const char *)c->path.ptr, c->path.len);
    }
    if (c->error_kind == FIOR_ERROR_KIND_PROTOCOL && c->data.ptr) {
        names[nf] = "data";
        values[nf++] = newSVpvn((const char *)c->data.ptr, c->data.len);
    }
    if (c->queue_size >= 0) {
        names[nf] = "queue_size";
        values[nf++] = newSViv((IV)c->queue_size);
    }
    return fp_new_error(aTHX_ fp_error_kind_name(c->error_kind), (const char *)c->message.ptr, c->message.len, nf,
                        names, values);
}

SV *fp_completion_value(pTHX_ const FiorCompletion *c, int *failed) {
    *failed = 0;
    if (c->kind == FIOR_COMPLETION_KIND_REPLY) {
        if (c->node_count > 0 && c->nodes[0].kind == FIOR_NODE_KIND_ERROR) {
            *failed = 1;
            return fp_redis_error(aTHX_ c->nodes[0].ptr, c->nodes[0].len);
        }
        return fp_reply_to_sv(aTHX_ c->nodes, c->node_count);
    }
    if (c->kind == FIOR_COMPLETION_KIND_DONE)
        return newSV(0);
    *failed = 1;
    return completion_error(aTHX_ c);
}

/* ----- arguments and options --------------------------------------------------------------- */

/* The command's name for messages: its first argument when that is a plain string. */
static SV *command_label(pTHX_ SV *first) {
    if (first && SvOK(first) && !SvROK(first))
        return sv_2mortal(newSVpvf("%" SVf, SVfARG(first)));
    return sv_2mortal(newSVpvs("the command"));
}

/* Die with `msg` through Carp::croak, so that the message names the caller's file and line
 * (not the module's). Never called while a fior_* call is under way: no Rust frame is on the
 * stack when it longjmps. */
void fp_croak_at_caller(pTHX_ SV *msg) {
    dSP;
    PUSHMARK(SP);
    XPUSHs(msg);
    PUTBACK;
    call_pv("Carp::croak", G_DISCARD);
    croak_sv(msg); /* not reached: Carp::croak dies */
}

void fp_croak_refused(pTHX_ FiorEngine *engine, const char *fallback) {
    FiorSlice why = fior_engine_last_error(engine);
    fp_croak_at_caller(aTHX_ sv_2mortal(newSVpvf("Future::IO::Redis: %.*s", (int)why.len,
                                                 why.ptr ? (const char *)why.ptr : fallback)));
}

/* The bytes of one command argument: character strings as UTF-8, byte strings as they are.
 * `first` is the command's first argument, named in the message when this one is refused. */
void fp_arg_slice(pTHX_ SV *sv, FiorSlice *out, SV *first, IV index) {
    STRLEN len;
    const char *p;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        fp_croak_at_caller(aTHX_ sv_2mortal(newSVpvf(
            "Future::IO::Redis: %" SVf ": argument %" IVdf " after the command name is undef; commands take strings and numbers",
            SVfARG(command_label(aTHX_ first)), index - 1)));
    if (SvROK(sv))
        fp_croak_at_caller(aTHX_ sv_2mortal(newSVpvf(
            "Future::IO::Redis: %" SVf ": argument %" IVdf " after the command name is a reference; commands take strings and numbers",
            SVfARG(command_label(aTHX_ first)), index - 1)));
    p = SvPV_nomg_const(sv, len);
    out->ptr = (const uint8_t *)p;
    out->len = len;
}

/* A value's bytes: character strings as UTF-8 (a mortal copy), byte strings as they are. */
static FiorSlice value_slice(pTHX_ SV *sv) {
    FiorSlice s;
    STRLEN len;
    const char *p;
    if (SvUTF8(sv)) {
        sv = sv_2mortal(newSVsv(sv));
        sv_utf8_encode(sv);
    }
    p = SvPV_const(sv, len);
    s.ptr = (const uint8_t *)p;
    s.len = len;
    return s;
}

static FiorOption *option_slot(pTHX_ FiorOption **list, size_t *cap, size_t n) {
    if (n == *cap) {
        FiorOption *grown;
        *cap *= 2;
        Newx(grown, *cap, FiorOption);
        Copy(*list, grown, n, FiorOption);
        SAVEFREEPV(grown);
        *list = grown;
    }
    return &(*list)[n];
}

size_t fp_options(pTHX_ HV *opts, FiorOption **out) {
    size_t cap = 16, n = 0;
    FiorOption *list;
    HE *he;
    Newx(list, cap, FiorOption);
    SAVEFREEPV(list);
    hv_iterinit(opts);
    while ((he = hv_iternext(opts))) {
        SV *val = HeVAL(he);
        STRLEN klen;
        const char *key = HePV(he, klen);
        FiorOption *o;
        if (!SvOK(val))
            continue;
        if (SvROK(val) && SvTYPE(SvRV(val)) == SVt_PVHV
            && ((klen == 7 && memEQ(key, "timeout", 7)) || (klen == 3 && memEQ(key, "tls", 3)))) {
            /* timeout => { 'DEBUG SLEEP' => 120 }, tls => { ca_file => ... }: one entry per key */
            HV *nested = (HV *)SvRV(val);
            HE *ne;
            hv_iterinit(nested);
            while ((ne = hv_iternext(nested))) {
                SV *nval = HeVAL(ne);
                STRLEN nlen;
                const char *nkey = HePV(ne, nlen);
                if (!SvOK(nval))
                    continue;
                o = option_slot(aTHX_ &list, &cap, n++);
                o->name = value_slice(aTHX_ sv_2mortal(newSVpvf("%.*s.%.*s", (int)klen, key, (int)nlen, nkey)));
                o->value = value_slice(aTHX_ nval);
                o->is_ref = SvROK(nval) ? true : false;
            }
            continue;
        }
        o = option_slot(aTHX_ &list, &cap, n++);
        o->name.ptr = (const uint8_t *)key;
        o->name.len = klen;
        o->value = value_slice(aTHX_ val);
        o->is_ref = SvROK(val) ? true : false;
    }
    *out = list;
    return n;
}

FiorBatchCommand *fp_batch_commands(pTHX_ AV *commands, size_t *count) {
    SSize_t n = av_len(commands) + 1, i, total = 0, at = 0;
    FiorBatchCommand *cmds;
    FiorSlice *slices;
    for (i = 0; i < n; i++) {
        SV **c = av_fetch(commands, i, 0);
        if (!c || !SvROK(*c) || SvTYPE(SvRV(*c)) != SVt_PVAV)
            croak("Future::IO::Redis: a batch holds array refs of commands");
        if (av_len((AV *)SvRV(*c)) < 0)
            croak("Future::IO::Redis: no command given");
        total += av_len((AV *)SvRV(*c)) + 1;
    }
    Newx(cmds, n > 0 ? n : 1, FiorBatchCommand);
    SAVEFREEPV(cmds);
    Newx(slices, total > 0 ? total : 1, FiorSlice);
    SAVEFREEPV(slices);
    for (i = 0; i < n; i++) {
        AV *cmd = (AV *)SvRV(*av_fetch(commands, i, 0));
        SSize_t argc = av_len(cmd) + 1, j;
        SV **first = av_fetch(cmd, 0, 0);
        cmds[i].timeout = -1;
        cmds[i].argc = (size_t)argc;
        cmds[i].argv = &slices[at];
        for (j = 0; j < argc; j++) {
            SV **a = av_fetch(cmd, j, 0);
            fp_arg_slice(aTHX_ a ? *a : &PL_sv_undef, &slices[at++], first ? *first : NULL, j + 1);
        }
    }
    *count = (size_t)n;
    return cmds;
}

/* ----- delivery ---------------------------------------------------------------------------- */

/* Call `method` (or the Future's cached done/fail) on `target` with `value` (mortalised), under
 * G_EVAL; the first error goes to *first_error. */
/* Call `method` on `target` with `value`, or, when `method` is NULL, the code reference
 * `target` with `value` (a connection's event handler). */
static void call_protected(pTHX_ fp_future_cache *cache, SV *target, const char *method, SV *value, SV **first_error) {
    dSP;
    CV *resolver;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    if (method)
        XPUSHs(target);
    if (value)
        XPUSHs(sv_2mortal(value));
    PUTBACK;
    resolver = (method == resolve_method || method == reject_method) ? future_method(aTHX_ cache, target, method) : NULL;
    if (!method)
        (void)call_sv(target, G_DISCARD | G_EVAL);
    else if (resolver)
        (void)call_sv((SV *)resolver, G_DISCARD | G_EVAL);
    else
        (void)call_method(method, G_DISCARD | G_EVAL);
    if (SvTRUE(ERRSV) && !*first_error)
        *first_error = newSVsv(ERRSV);
    FREETMPS;
    LEAVE;
}

/* A connection event as the hash a connection's event handler takes. */
static SV *event_value(pTHX_ const FiorCompletion *c) {
    HV *ev = newHV();
    if (c->event == FIOR_EVENT_CONNECTED) {
        (void)hv_stores(ev, "event", newSVpvs("connected"));
    } else if (c->event == FIOR_EVENT_RESUBSCRIBED) {
        (void)hv_stores(ev, "event", newSVpvs("resubscribed"));
    } else if (c->event == FIOR_EVENT_DISCONNECTED) {
        (void)hv_stores(ev, "event", newSVpvs("disconnected"));
        (void)hv_stores(ev, "reason", newSVpv(fp_reason_name(c->reason), 0));
        (void)hv_stores(ev, "message", newSVpvn((const char *)c->message.ptr, c->message.len));
    } else {
        (void)hv_stores(ev, "event", newSVpvs("error"));
        (void)hv_stores(ev, "error", completion_error(aTHX_ c));
    }
    return newRV_noinc((SV *)ev);
}

/* A batch's results as an array: each item's reply, or its error object in its slot. Each
 * item's view is converted before the next is asked for (views last until the next call). */
static SV *batch_value(pTHX_ FiorEngine *engine, const FiorCompletion *c) {
    AV *results = newAV();
    size_t i;
    if (c->item_count > 0)
        av_extend(results, (SSize_t)c->item_count - 1);
    for (i = 0; i < c->item_count; i++) {
        FiorCompletion item;
        int failed;
        if (!fior_engine_batch_item(engine, i, &item)) {
            static const char lost[] = "the result of this command was lost";
            av_push(results, fp_new_error(aTHX_ "connection", lost, sizeof lost - 1, 0, NULL, NULL));
            continue;
        }
        av_push(results, fp_completion_value(aTHX_ &item, &failed));
    }
    return newRV_noinc((SV *)results);
}

/* The value registered for a connection in `handlers` (keyed by its id), or NULL: a code ref,
 * or (message handlers only) an array ref [ \@queue, \&after_turn ]. */
static SV *conn_handler(pTHX_ HV *handlers, uint64_t conn) {
    char key[24];
    int klen;
    SV **handler;
    if (!handlers)
        return NULL;
    klen = snprintf(key, sizeof key, "%" UVuf, (UV)conn);
    handler = hv_fetch(handlers, key, klen, 0);
    if (!handler || !SvROK(*handler))
        return NULL;
    if (SvTYPE(SvRV(*handler)) == SVt_PVCV)
        return *handler;
    if (SvTYPE(SvRV(*handler)) == SVt_PVAV) {
        AV *pair = (AV *)SvRV(*handler);
        SV **q = av_fetch(pair, 0, 0), **after = av_fetch(pair, 1, 0);
        if (q && after && SvROK(*q) && SvTYPE(SvRV(*q)) == SVt_PVAV && SvROK(*after) && SvTYPE(SvRV(*after)) == SVt_PVCV)
            return *handler;
    }
    return NULL;
}

/* A message as the hash the user gets: { type => 'message' | 'pmessage' | 'smessage',
 * channel, data, pattern (pmessage only) }. */
static SV *message_value(pTHX_ const FiorCompletion *c) {
    HV *msg = newHV();
    const char *type = c->message_kind == FIOR_MESSAGE_KIND_P_MESSAGE ? "pmessage"
                     : c->message_kind == FIOR_MESSAGE_KIND_S_MESSAGE ? "smessage"
                                                                      : "message";
    hv_ksplit(msg, 4);
    (void)hv_stores(msg, "type", newSVpv(type, 0));
    (void)hv_stores(msg, "channel", newSVpvn((const char *)c->channel.ptr, c->channel.len));
    (void)hv_stores(msg, "data", newSVpvn((const char *)c->data.ptr, c->data.len));
    if (c->pattern.ptr)
        (void)hv_stores(msg, "pattern", newSVpvn((const char *)c->pattern.ptr, c->pattern.len));
    return newRV_noinc((SV *)msg);
}

/* A message to its connection's message handler. A code ref is called with the message; a
 * [ \@queue, \&after_turn ] pair gets the message pushed onto @queue (no Perl call per message)
 * and after_turn queued once per delivery on @Future::IO::Redis::Engine::AFTER_DELIVERY, which
 * the caller of deliver runs when the turn's completions are all delivered. `last_after`
 * remembers the after_turn queued last, so that a run of messages queues it once. */
static void deliver_message(pTHX_ SV *handler, const FiorCompletion *c, SV **first_error, SV **last_after) {
    dSP;
    if (SvTYPE(SvRV(handler)) == SVt_PVAV) {
        AV *pair = (AV *)SvRV(handler);
        SV *queue = *av_fetch(pair, 0, 0), *after = *av_fetch(pair, 1, 0);
        av_push((AV *)SvRV(queue), message_value(aTHX_ c));
        if (SvRV(after) != *last_after) {
            AV *run = get_av("Future::IO::Redis::Engine::AFTER_DELIVERY", GV_ADD);
            av_push(run, newSVsv(after));
            *last_after = SvRV(after);
        }
        return;
    }
    *last_after = NULL; /* Perl code runs: what it frees may be allocated again */
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    mXPUSHs(message_value(aTHX_ c));
    PUTBACK;
    (void)call_sv(handler, G_DISCARD | G_EVAL);
    if (SvTRUE(ERRSV) && !*first_error)
        *first_error = newSVsv(ERRSV);
    FREETMPS;
    LEAVE;
}

/*
 * Each completion goes to what waits for it:
 *   a command, connect, close or batch: the Future its token names, ->done($value) or
 *     ->fail($error); a batch is done with an array of its commands' replies, a failed
 *     command's slot holding its error object;
 *   a connection event: the connection's handler, $handlers->{$conn}->(\%event);
 *   a message (subscribe mode): the connection's message handler,
 *     $message_handlers->{$conn}->(\%message), or pushed onto the queue of a
 *     [ \@queue, \&after_turn ] pair (see deliver_message); dropped when none.
 */
IV fp_deliver(pTHX_ FiorEngine *engine, fp_future_cache *cache, HV *handlers, HV *message_handlers, SV **first_error) {
    FiorCompletion c;
    IV delivered = 0;
    SV *last_after = NULL; /* compared, never dereferenced: see deliver_message */
    while (fior_engine_next(engine, &c)) {
        SV *value, *target;
        const char *method;
        delivered++;
        if (c.kind != FIOR_COMPLETION_KIND_MESSAGE)
            last_after = NULL; /* Perl code runs: what it frees may be allocated again */
        if (c.kind == FIOR_COMPLETION_KIND_MESSAGE) {
            SV *handler = conn_handler(aTHX_ message_handlers, c.conn);
            if (handler) {
                SvREFCNT_inc_simple_void_NN(handler);
                deliver_message(aTHX_ handler, &c, first_error, &last_after);
                SvREFCNT_dec(handler);
            }
            continue;
        } else if (c.kind == FIOR_COMPLETION_KIND_EVENT) {
            SV *handler = conn_handler(aTHX_ handlers, c.conn);
            if (!handler)
                continue;
            target = SvREFCNT_inc_simple_NN(handler);
            value = event_value(aTHX_ &c);
            method = NULL;
        } else if (c.token == 0) {
            continue; /* not ours: every token this module submits is a Future */
        } else {
            int failed = 0;
            target = INT2PTR(SV *, (UV)c.token); /* our reference: released below */
            value = c.kind == FIOR_COMPLETION_KIND_BATCH ? batch_value(aTHX_ engine, &c)
                                                         : fp_adopt_bulk(aTHX_ engine, &c);
            if (!value)
                value = fp_completion_value(aTHX_ &c, &failed);
            method = failed ? reject_method : resolve_method;
        }
        call_protected(aTHX_ cache, target, method, value, first_error);
        SvREFCNT_dec(target);
    }
    return delivered;
}

IV fp_fail_orphans(pTHX_ FiorEngine *engine, SV *error) {
    uint64_t token;
    IV n = 0;
    while (fior_engine_next_orphan(engine, &token)) {
        SV *f = INT2PTR(SV *, (UV)token);
        dSP;
        ENTER;
        SAVETMPS;
        PUSHMARK(SP);
        XPUSHs(f);
        XPUSHs(error);
        PUTBACK;
        call_method("fail", G_DISCARD | G_EVAL);
        FREETMPS;
        LEAVE;
        SvREFCNT_dec(f);
        n++;
    }
    return n;
}
