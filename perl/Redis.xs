/*
 * XS glue between Perl and the fior engine (include/fior.h).
 *
 * Thin by design: each XSUB converts Perl values to byte slices (or replies back to Perl
 * values), calls one fior_* function and returns its status. It croaks only for the caller's
 * mistakes (undef or reference arguments, bad options); engine trouble comes back as a status
 * for Perl to turn into a typed error. No Rust frame is ever on the stack when Perl code runs
 * or croaks: fior_* calls return before any Perl callback or croak happens.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "fior.h"

typedef FiorEngine *Future__IO__Redis__Engine;

/* The engine class's stash, for the fast path of the typemap's type check. */
static HV *fior_engine_stash = NULL;

/*
 * Tokens. A single command, connect or close is named by a pointer: an RV to the Future that
 * waits for it, whose reference the engine holds until the completion is delivered (pointers
 * are even). A command of a pipeline batch is named by an odd integer, looked up in the
 * %PENDING hash the Perl side passes to deliver().
 */
#define TOKEN_IS_FUTURE(t) (((t) & 1) == 0)

static uint64_t future_token(pTHX_ SV *future) {
    if (!SvROK(future))
        croak("Future::IO::Redis: internal error: a Future was expected");
    return (uint64_t)PTR2UV(newRV_inc(SvRV(future)));
}

static void release_token(pTHX_ uint64_t token) {
    if (TOKEN_IS_FUTURE(token))
        SvREFCNT_dec(INT2PTR(SV *, (UV)token));
}

#define STACK_ARGS 16

static const char *error_kind_name(FiorErrorKind k) {
    switch (k) {
    case FIOR_ERROR_KIND_CONNECTION: return "connection";
    case FIOR_ERROR_KIND_TIMEOUT: return "timeout";
    case FIOR_ERROR_KIND_PROTOCOL: return "protocol";
    case FIOR_ERROR_KIND_REDIS: return "redis";
    case FIOR_ERROR_KIND_DISCONNECTED: return "disconnected";
    default: return "connection";
    }
}

static const char *timeout_kind_name(FiorTimeoutKind k) {
    switch (k) {
    case FIOR_TIMEOUT_KIND_REQUEST: return "request";
    case FIOR_TIMEOUT_KIND_CONNECT: return "connect";
    case FIOR_TIMEOUT_KIND_READ: return "read";
    case FIOR_TIMEOUT_KIND_WRITE: return "write";
    default: return NULL;
    }
}

static const char *reason_name(FiorDisconnectReason r) {
    switch (r) {
    case FIOR_DISCONNECT_REASON_CONNECTION_LOST: return "connection_lost";
    case FIOR_DISCONNECT_REASON_TIMEOUT: return "timeout";
    case FIOR_DISCONNECT_REASON_SERVER_CLOSED: return "server_closed";
    case FIOR_DISCONNECT_REASON_PROTOCOL_ERROR: return "protocol_error";
    case FIOR_DISCONNECT_REASON_CLIENT: return "client";
    default: return "connection_lost";
    }
}

/* Resolving a Future calls its class's `done` or `fail`. The class is the same for every
 * Future of a run (the one Future::IO's implementation makes), so the two methods are looked
 * up once per class, not once per completion (callgrind: about 4,000 instructions less per
 * command). The cache is per interpreter (MY_CXT) and owns references to the class and the
 * methods, so neither can be freed while cached; it is refreshed when the class changes or
 * when Perl says any method resolution may have changed (a sub defined or removed anywhere,
 * or this class's @ISA or methods changed). */
static const char resolve_method[] = "done";
static const char reject_method[] = "fail";

#define MY_CXT_KEY "Future::IO::Redis::Engine::_guts" XS_VERSION
typedef struct {
    HV *future_class;
    U32 generation;
    CV *done;
    CV *fail;
} my_cxt_t;
START_MY_CXT

static void forget_future_class(pTHX_ my_cxt_t *cxt) {
    SvREFCNT_dec((SV *)cxt->future_class);
    SvREFCNT_dec((SV *)cxt->done);
    SvREFCNT_dec((SV *)cxt->fail);
    cxt->future_class = NULL;
    cxt->done = cxt->fail = NULL;
}

/* The class's `done` (or `fail`) CV; NULL when it is not a plain method (none defined, or
 * only reachable through AUTOLOAD), for the caller to fall back to call_method. */
static CV *future_method(pTHX_ SV *future, const char *name) {
    dMY_CXT;
    HV *stash = SvSTASH(SvRV(future));
    U32 gen = PL_sub_generation + HvMROMETA(stash)->cache_gen;
    if (stash != MY_CXT.future_class || gen != MY_CXT.generation) {
        GV *done = gv_fetchmethod_autoload(stash, resolve_method, FALSE);
        GV *fail = gv_fetchmethod_autoload(stash, reject_method, FALSE);
        forget_future_class(aTHX_ &MY_CXT);
        if (!done || !fail || !GvCV(done) || !GvCV(fail))
            return NULL;
        MY_CXT.future_class = (HV *)SvREFCNT_inc_simple_NN((SV *)stash);
        MY_CXT.generation = gen;
        MY_CXT.done = (CV *)SvREFCNT_inc_simple_NN((SV *)GvCV(done));
        MY_CXT.fail = (CV *)SvREFCNT_inc_simple_NN((SV *)GvCV(fail));
    }
    return name == resolve_method ? MY_CXT.done : MY_CXT.fail;
}

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
    for (i = 0; i < nfields; i++)
        (void)hv_store(hv, names[i], (I32)strlen(names[i]), newSVsv(values[i]), 0);
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
static SV *new_error(pTHX_ const char *kind, const char *msg, STRLEN len, int nfields, const char **names, SV **values) {
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

static SV *redis_error(pTHX_ const uint8_t *ptr, size_t len) {
    return new_error(aTHX_ "redis", (const char *)ptr, len, 0, NULL, NULL);
}

/* A reply (pre-order nodes) as a Perl value, without recursion. */
static SV *reply_to_sv(pTHX_ const FiorNode *nodes, size_t n) {
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
            sv = redis_error(aTHX_ nd->ptr, nd->len);
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

/* The command's name for messages: its first argument when that is a plain string. */
static SV *command_label(pTHX_ SV *first) {
    if (first && SvOK(first) && !SvROK(first))
        return sv_2mortal(newSVpvf("%" SVf, SVfARG(first)));
    return sv_2mortal(newSVpvs("the command"));
}

/* Die with `msg` through Carp::croak, so that the message names the caller's file and line
 * (not the module's). Only called before any fior_* call of the XSUB: no Rust frame is on the
 * stack when it longjmps. */
static void croak_at_caller(pTHX_ SV *msg) {
    dSP;
    PUSHMARK(SP);
    XPUSHs(msg);
    PUTBACK;
    call_pv("Carp::croak", G_DISCARD);
    croak_sv(msg); /* not reached: Carp::croak dies */
}

/* The bytes of one command argument: character strings as UTF-8, byte strings as they are.
 * `first` is the command's first argument, named in the message when this one is refused. */
static void arg_slice(pTHX_ SV *sv, FiorSlice *out, SV *first, IV index) {
    STRLEN len;
    const char *p;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        croak_at_caller(aTHX_ sv_2mortal(newSVpvf(
            "Future::IO::Redis: %" SVf ": argument %" IVdf " after the command name is undef; commands take strings and numbers",
            SVfARG(command_label(aTHX_ first)), index - 1)));
    if (SvROK(sv))
        croak_at_caller(aTHX_ sv_2mortal(newSVpvf(
            "Future::IO::Redis: %" SVf ": argument %" IVdf " after the command name is a reference; commands take strings and numbers",
            SVfARG(command_label(aTHX_ first)), index - 1)));
    p = SvPV_nomg_const(sv, len);
    out->ptr = (const uint8_t *)p;
    out->len = len;
}

/* A value's bytes: strings as UTF-8 when they hold characters (a mortal copy), else as they are. */
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

/* The options hash as the engine takes it: one FiorOption per defined value, the `timeout`
 * and `tls` hashes flattened (`timeout.NAME`, `tls.KEY`). The list and the names it points to
 * live until the end of the calling XSUB (SAVEFREEPV, mortal SVs). */
static size_t options_of(pTHX_ HV *opts, FiorOption **out) {
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
        HV *nested = NULL;
        if (!SvOK(val))
            continue;
        if (SvROK(val) && SvTYPE(SvRV(val)) == SVt_PVHV
            && ((klen == 7 && memEQ(key, "timeout", 7)) || (klen == 3 && memEQ(key, "tls", 3))))
            nested = (HV *)SvRV(val);
        if (nested) {
            HE *ne;
            hv_iterinit(nested);
            while ((ne = hv_iternext(nested))) {
                SV *nval = HeVAL(ne);
                STRLEN nlen;
                const char *nkey = HePV(ne, nlen);
                SV *name;
                if (!SvOK(nval))
                    continue;
                if (n == cap) {
                    FiorOption *grown;
                    cap *= 2;
                    Newx(grown, cap, FiorOption);
                    Copy(list, grown, n, FiorOption);
                    SAVEFREEPV(grown);
                    list = grown;
                }
                name = sv_2mortal(newSVpvf("%.*s.%.*s", (int)klen, key, (int)nlen, nkey));
                list[n].name = value_slice(aTHX_ name);
                list[n].value = value_slice(aTHX_ nval);
                list[n].is_ref = SvROK(nval) ? true : false;
                n++;
            }
            continue;
        }
        if (n == cap) {
            FiorOption *grown;
            cap *= 2;
            Newx(grown, cap, FiorOption);
            Copy(list, grown, n, FiorOption);
            SAVEFREEPV(grown);
            list = grown;
        }
        list[n].name.ptr = (const uint8_t *)key;
        list[n].name.len = klen;
        list[n].value = value_slice(aTHX_ val);
        list[n].is_ref = SvROK(val) ? true : false;
        n++;
    }
    *out = list;
    return n;
}

MODULE = Future::IO::Redis  PACKAGE = Future::IO::Redis::Engine

PROTOTYPES: DISABLE

Future::IO::Redis::Engine
new(class)
    const char *class
  CODE:
    {
        FiorEngine *e = NULL;
        FiorResult r = fior_engine_new(&e);
        PERL_UNUSED_VAR(class);
        if (r != FIOR_RESULT_OK)
            croak("Future::IO::Redis: cannot start the engine: %s", fior_result_message(r));
        RETVAL = e;
    }
  OUTPUT:
    RETVAL

void
DESTROY(engine)
    Future::IO::Redis::Engine engine
  CODE:
    fior_engine_free(engine);
    sv_setiv(SvRV(ST(0)), 0);

int
CLONE_SKIP(...)
  CODE:
    RETVAL = 1;
  OUTPUT:
    RETVAL

void
CLONE(...)
  CODE:
    /* A new thread's interpreter: the copied cache points into the parent's; start empty, and
     * let the Perl side forget the parent's engine. */
    MY_CXT_CLONE;
    MY_CXT.future_class = NULL;
    MY_CXT.done = MY_CXT.fail = NULL;
    if (get_cv("Future::IO::Redis::Engine::_cloned", 0))
        call_pv("Future::IO::Redis::Engine::_cloned", G_DISCARD | G_NOARGS);

int
fd(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_fd(engine);
  OUTPUT:
    RETVAL

bool
busy(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_busy(engine);
  OUTPUT:
    RETVAL

NV
external_timeout(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_external_timeout(engine);
  OUTPUT:
    RETVAL

bool
wait_readable(engine, timeout)
    Future::IO::Redis::Engine engine
    NV timeout
  CODE:
    RETVAL = fior_engine_wait_readable(engine, timeout);
  OUTPUT:
    RETVAL

UV
pid(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_pid(engine);
  OUTPUT:
    RETVAL

void
guard_fd(engine, fd)
    Future::IO::Redis::Engine engine
    int fd
  CODE:
    fior_engine_guard_fd(engine, fd);

void
unguard_fd(engine, fd)
    Future::IO::Redis::Engine engine
    int fd
  CODE:
    fior_engine_unguard_fd(engine, fd);

UV
outstanding(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_outstanding(engine);
  OUTPUT:
    RETVAL

bool
is_running(engine)
    Future::IO::Redis::Engine engine
  CODE:
    RETVAL = fior_engine_is_running(engine);
  OUTPUT:
    RETVAL

void
open(engine, opts)
    Future::IO::Redis::Engine engine
    HV *opts
  PPCODE:
    {
        FiorOption *list;
        size_t n = options_of(aTHX_ opts, &list);
        uint64_t conn = 0;
        FiorResult r = fior_conn_open(engine, list, n, &conn);
        if (r == FIOR_RESULT_INVALID_ARGUMENT) {
            FiorSlice why = fior_engine_last_error(engine);
            croak("Future::IO::Redis: %.*s", (int)why.len, why.ptr ? (const char *)why.ptr : "invalid connection options");
        }
        EXTEND(SP, 2);
        mPUSHu(r == FIOR_RESULT_OK ? (UV)conn : 0);
        mPUSHu((UV)r);
    }

void
check_options(opts)
    HV *opts
  PPCODE:
    /* Undef when the options are fine, else why not (the engine's words). */
    {
        FiorOption *list;
        size_t n = options_of(aTHX_ opts, &list);
        if (fior_options_check(list, n) == FIOR_RESULT_OK) {
            XSRETURN_UNDEF;
        } else {
            FiorSlice why = fior_options_last_error();
            mXPUSHs(newSVpvn(why.ptr ? (const char *)why.ptr : "invalid options", why.len));
        }
    }

UV
connect(engine, conn, future)
    Future::IO::Redis::Engine engine
    UV conn
    SV *future
  CODE:
    {
        uint64_t token = future_token(aTHX_ future);
        RETVAL = fior_conn_connect(engine, conn, token);
        if (RETVAL)
            release_token(aTHX_ token);
    }
  OUTPUT:
    RETVAL

UV
close(engine, conn, future)
    Future::IO::Redis::Engine engine
    UV conn
    SV *future
  CODE:
    if (SvOK(future)) {
        uint64_t token = future_token(aTHX_ future);
        RETVAL = fior_conn_close(engine, conn, token, true);
        if (RETVAL)
            release_token(aTHX_ token);
    } else {
        RETVAL = fior_conn_close(engine, conn, 0, false);
    }
  OUTPUT:
    RETVAL

UV
release(engine, conn)
    Future::IO::Redis::Engine engine
    UV conn
  CODE:
    RETVAL = fior_conn_drop(engine, conn);
  OUTPUT:
    RETVAL

UV
submit(engine, conn, future, timeout, ...)
    Future::IO::Redis::Engine engine
    UV conn
    SV *future
    NV timeout
  PREINIT:
    FiorSlice stack_args[STACK_ARGS];
    FiorSlice *args = stack_args;
    IV argc = items - 4, i;
    uint64_t token;
  CODE:
    /* Sends one command; `future` completes with its reply. Returns 0, or a FiorResult. */
    if (argc < 1)
        croak("Future::IO::Redis: no command given");
    if (argc > STACK_ARGS) {
        Newx(args, argc, FiorSlice);
        SAVEFREEPV(args);
    }
    for (i = 0; i < argc; i++)
        arg_slice(aTHX_ ST(4 + i), &args[i], ST(4), i + 1);
    token = future_token(aTHX_ future);
    RETVAL = fior_conn_submit(engine, conn, token, timeout, (size_t)argc, args);
    if (RETVAL)
        release_token(aTHX_ token);
    if (RETVAL == FIOR_RESULT_INVALID_ARGUMENT) {
        FiorSlice why = fior_engine_last_error(engine);
        croak_at_caller(aTHX_ sv_2mortal(newSVpvf("Future::IO::Redis: %.*s", (int)why.len,
                                                  why.ptr ? (const char *)why.ptr : "invalid command")));
    }
  OUTPUT:
    RETVAL

UV
submit_many(engine, conn, commands)
    Future::IO::Redis::Engine engine
    UV conn
    AV *commands
  PREINIT:
    SSize_t n, i, total = 0, at = 0;
    FiorCommand *cmds;
    FiorSlice *slices;
  CODE:
    /* commands: [ [token, timeout, arg, ...], ... ] */
    n = av_len(commands) + 1;
    if (n == 0)
        XSRETURN_UV(0);
    for (i = 0; i < n; i++) {
        SV **c = av_fetch(commands, i, 0);
        AV *cmd;
        if (!c || !SvROK(*c) || SvTYPE(SvRV(*c)) != SVt_PVAV)
            croak("Future::IO::Redis: submit_many wants array refs");
        cmd = (AV *)SvRV(*c);
        if (av_len(cmd) + 1 < 3)
            croak("Future::IO::Redis: no command given");
        total += av_len(cmd) + 1 - 2;
    }
    Newx(cmds, n, FiorCommand);
    SAVEFREEPV(cmds);
    Newx(slices, total, FiorSlice);
    SAVEFREEPV(slices);
    for (i = 0; i < n; i++) {
        AV *cmd = (AV *)SvRV(*av_fetch(commands, i, 0));
        SSize_t argc = av_len(cmd) + 1 - 2, j;
        SV **first = av_fetch(cmd, 2, 0);
        cmds[i].token = SvUV(*av_fetch(cmd, 0, 0));
        cmds[i].timeout = SvNV(*av_fetch(cmd, 1, 0));
        cmds[i].argc = (size_t)argc;
        cmds[i].argv = &slices[at];
        for (j = 0; j < argc; j++) {
            SV **a = av_fetch(cmd, 2 + j, 0);
            arg_slice(aTHX_ a ? *a : &PL_sv_undef, &slices[at++], first ? *first : NULL, j + 1);
        }
    }
    RETVAL = fior_conn_submit_many(engine, conn, (size_t)n, cmds);
    if (RETVAL == FIOR_RESULT_INVALID_ARGUMENT) {
        FiorSlice why = fior_engine_last_error(engine);
        croak_at_caller(aTHX_ sv_2mortal(newSVpvf("Future::IO::Redis: %.*s", (int)why.len,
                                                  why.ptr ? (const char *)why.ptr : "invalid command")));
    }
  OUTPUT:
    RETVAL

void
deliver(engine, pending, handlers)
    Future::IO::Redis::Engine engine
    HV *pending
    HV *handlers
  PREINIT:
    FiorCompletion c;
    SV *first_error = NULL;
    IV delivered = 0;
  PPCODE:
    /*
     * Hand every waiting completion to what waits for it:
     *   a Future named by its token (->done($reply) / ->fail($error)), or, for an odd token,
     *   $pending{$token}, a pipeline batch
     *     (a blessed array [future, remaining, \@results, first_token]; the reply or error goes
     *     into its slot and Future::IO::Redis::Engine::_batch_done($batch) runs after the last);
     *   connection events go to the connection's handler: $handlers{$conn}->(\%event).
     * Each call into Perl is protected, so that a callback that dies cannot lose the other
     * completions; the first such error is reported with warn once all were delivered.
     * Runs one engine turn first (fior_engine_turn), then delivers what it completed.
     * Returns the number of completions handled, or -1 if the engine is unusable (poisoned, or
     * a fork child's copy): then nothing more will come.
     */
    fior_engine_turn(engine);
    PUTBACK;
    while (fior_engine_next(engine, &c)) {
        SV *value = NULL;
        SV *target = NULL;
        const char *method = NULL;
        int failed = 0, is_handler = 0;
        delivered++;
        if (c.kind == FIOR_COMPLETION_KIND_EVENT) {
            char key[24];
            int klen = snprintf(key, sizeof key, "%" UVuf, (UV)c.conn);
            SV **handler = hv_fetch(handlers, key, klen, 0);
            HV *ev;
            if (!handler || !SvROK(*handler) || SvTYPE(SvRV(*handler)) != SVt_PVCV)
                continue;
            ev = newHV();
            if (c.event == FIOR_EVENT_CONNECTED) {
                (void)hv_stores(ev, "event", newSVpvs("connected"));
            } else if (c.event == FIOR_EVENT_DISCONNECTED) {
                (void)hv_stores(ev, "event", newSVpvs("disconnected"));
                (void)hv_stores(ev, "reason", newSVpv(reason_name(c.reason), 0));
                (void)hv_stores(ev, "message", newSVpvn((const char *)c.message.ptr, c.message.len));
            } else {
                (void)hv_stores(ev, "event", newSVpvs("error"));
                (void)hv_stores(ev, "error", new_error(aTHX_ error_kind_name(c.error_kind),
                                                      (const char *)c.message.ptr, c.message.len, 0, NULL, NULL));
            }
            target = SvREFCNT_inc_simple_NN(*handler);
            value = newRV_noinc((SV *)ev);
            is_handler = 1;
        } else {
            SV *entry;
            if (TOKEN_IS_FUTURE(c.token)) {
                entry = INT2PTR(SV *, (UV)c.token); /* our reference: released below */
            } else {
                char key[24];
                int klen = snprintf(key, sizeof key, "%" UVuf, (UV)c.token);
                entry = hv_delete(pending, key, klen, 0);
                if (!entry || !SvROK(entry))
                    continue;
                SvREFCNT_inc_simple_void_NN(entry); /* keep it past the next FREETMPS */
            }
            if (c.kind == FIOR_COMPLETION_KIND_REPLY) {
                if (c.node_count > 0 && c.nodes[0].kind == FIOR_NODE_KIND_ERROR) {
                    failed = 1;
                    value = redis_error(aTHX_ c.nodes[0].ptr, c.nodes[0].len);
                } else {
                    value = reply_to_sv(aTHX_ c.nodes, c.node_count);
                }
            } else if (c.kind == FIOR_COMPLETION_KIND_DONE) {
                value = newSV(0);
            } else {
                const char *names[3];
                SV *values[3];
                int nf = 0;
                const char *tk = timeout_kind_name(c.timeout_kind);
                if (c.command.ptr) {
                    names[nf] = "command";
                    values[nf++] = newSVpvn((const char *)c.command.ptr, c.command.len);
                }
                if (tk) {
                    names[nf] = "kind";
                    values[nf++] = newSVpv(tk, 0);
                }
                if (c.timeout >= 0) {
                    names[nf] = "timeout";
                    values[nf++] = newSVnv(c.timeout);
                }
                failed = 1;
                value = new_error(aTHX_ error_kind_name(c.error_kind), (const char *)c.message.ptr, c.message.len,
                                  nf, names, values);
            }
            if (SvTYPE(SvRV(entry)) == SVt_PVAV) {
                /* A pipeline batch: [future, remaining, \@results, first_token]; tokens step by 2 */
                AV *batch = (AV *)SvRV(entry);
                SV **remaining = av_fetch(batch, 1, 0);
                SV **results = av_fetch(batch, 2, 0);
                SV **first = av_fetch(batch, 3, 0);
                if (remaining && results && first && SvROK(*results)) {
                    IV left = SvIV(*remaining) - 1;
                    av_store((AV *)SvRV(*results), (SSize_t)((c.token - SvUV(*first)) / 2), value);
                    value = NULL;
                    sv_setiv(*remaining, left);
                    if (left == 0) {
                        target = entry;
                        method = NULL; /* call _batch_done below */
                    }
                } else {
                    SvREFCNT_dec(value);
                    value = NULL;
                }
                if (!target) {
                    SvREFCNT_dec(entry);
                    continue;
                }
            } else {
                target = entry;
                method = failed ? reject_method : resolve_method;
            }
        }
        {
            dSP;
            int ok;
            ENTER;
            SAVETMPS;
            PUSHMARK(SP);
            if (!is_handler)
                XPUSHs(target);
            if (value)
                XPUSHs(sv_2mortal(value));
            PUTBACK;
            CV *resolver = (method == resolve_method || method == reject_method)
                ? future_method(aTHX_ target, method) : NULL;
            if (is_handler)
                ok = call_sv(target, G_DISCARD | G_EVAL) >= 0;
            else if (resolver)
                ok = call_sv((SV *)resolver, G_DISCARD | G_EVAL) >= 0;
            else if (method)
                ok = call_method(method, G_DISCARD | G_EVAL) >= 0;
            else
                ok = call_pv("Future::IO::Redis::Engine::_batch_done", G_DISCARD | G_EVAL) >= 0;
            PERL_UNUSED_VAR(ok);
            if (SvTRUE(ERRSV) && !first_error)
                first_error = newSVsv(ERRSV);
            FREETMPS;
            LEAVE;
        }
        SvREFCNT_dec(target);
    }
    SPAGAIN;
    if (first_error) {
        /* Code run by a Future's callbacks (or an event handler) died. Everything else was still
         * delivered; the error is reported, not thrown into whatever happens to be waiting. */
        warn("Future::IO::Redis: code run while delivering replies died: %" SVf, SVfARG(first_error));
        SvREFCNT_dec(first_error);
    }
    mXPUSHi(fior_engine_is_running(engine) ? delivered : -1);

IV
fail_orphans(engine, pending, error)
    Future::IO::Redis::Engine engine
    HV *pending
    SV *error
  PREINIT:
    uint64_t token;
    IV n = 0;
  CODE:
    /*
     * After the engine stopped, or in a fork child: fail every Future whose command was
     * submitted and will never complete, with `error`. Batch commands (odd tokens) are left
     * to the caller, which fails the batches in %$pending. Returns how many were failed.
     */
    PERL_UNUSED_VAR(pending);
    while (fior_engine_next_orphan(engine, &token)) {
        if (TOKEN_IS_FUTURE(token)) {
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
    }
    RETVAL = n;
  OUTPUT:
    RETVAL

BOOT:
{
    MY_CXT_INIT;
    MY_CXT.future_class = NULL;
    MY_CXT.done = MY_CXT.fail = NULL;
    fior_engine_stash = gv_stashpv("Future::IO::Redis::Engine", GV_ADD);
}
