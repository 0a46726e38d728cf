/*
 * XS glue between Perl and the fior engine (include/fior.h).
 *
 * Thin by design: each XSUB marshals its arguments (Perl values to byte slices and options),
 * calls one fior_* function and returns its status; conversions and the delivery of completions
 * to Futures live in fior_perl.c beside this file. It croaks only for the caller's mistakes
 * (undef or reference arguments, bad options); engine trouble comes back as a status for Perl
 * to turn into a typed error. No Rust frame is ever on the stack when Perl code runs or croaks:
 * fior_* calls return before any Perl callback or croak happens.
 *
 * Tokens: every command, pipeline batch, connect or close is named by an RV to the Future that
 * waits for it, whose reference the engine holds until the completion is delivered.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "fior.h"
#include "fior_perl.h"

typedef FiorEngine *Future__IO__Redis__Engine;

/* The engine class's stash, for the fast path of the typemap's type check. */
static HV *fior_engine_stash = NULL;

#define STACK_ARGS 16

/* Per interpreter: the cache of the Future class's done/fail methods (see fior_perl.c). */
#define MY_CXT_KEY "Future::IO::Redis::Engine::_guts" XS_VERSION
typedef struct {
    fp_future_cache futures;
} my_cxt_t;
START_MY_CXT

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
    fp_future_cache_init(&MY_CXT.futures);
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
        size_t n = fp_options(aTHX_ opts, &list);
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
    /* Undef when the connection options are fine, else why not (the engine's words). Called as
     * a function: it needs no engine. */
    {
        FiorOption *list;
        size_t n = fp_options(aTHX_ opts, &list);
        if (fior_options_check(list, n) == FIOR_RESULT_OK)
            XSRETURN_UNDEF;
        {
            FiorSlice why = fior_options_last_error();
            mXPUSHs(newSVpvn(why.ptr ? (const char *)why.ptr : "invalid connection options", why.len));
        }
    }

UV
connect(engine, conn, future)
    Future::IO::Redis::Engine engine
    UV conn
    SV *future
  CODE:
    {
        uint64_t token = fp_future_token(aTHX_ future);
        RETVAL = fior_conn_connect(engine, conn, token);
        if (RETVAL)
            fp_release_token(aTHX_ token);
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
        uint64_t token = fp_future_token(aTHX_ future);
        RETVAL = fior_conn_close(engine, conn, token, true);
        if (RETVAL)
            fp_release_token(aTHX_ token);
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

void
conn_state(engine, conn)
    Future::IO::Redis::Engine engine
    UV conn
  PPCODE:
    /* What of the connection's state its next user would not expect (fior_conn_flags), as a hash
     * ref of booleans named after the flags; undef when the engine holds no such connection. */
    {
        uint32_t flags = 0;
        HV *hv;
        if (fior_conn_flags(engine, conn, &flags) != FIOR_RESULT_OK)
            XSRETURN_UNDEF;
        hv = newHV();
        (void)hv_stores(hv, "in_multi",      boolSV(flags & FIOR_CONN_FLAG_IN_MULTI));
        (void)hv_stores(hv, "watching",      boolSV(flags & FIOR_CONN_FLAG_WATCHING));
        (void)hv_stores(hv, "subscribed",    boolSV(flags & FIOR_CONN_FLAG_SUBSCRIBED));
        (void)hv_stores(hv, "pending",       boolSV(flags & FIOR_CONN_FLAG_PENDING));
        (void)hv_stores(hv, "blocking",      boolSV(flags & FIOR_CONN_FLAG_BLOCKING));
        (void)hv_stores(hv, "not_connected", boolSV(flags & FIOR_CONN_FLAG_NOT_CONNECTED));
        (void)hv_stores(hv, "multi_open",    boolSV(flags & FIOR_CONN_FLAG_MULTI_OPEN));
        mXPUSHs(newRV_noinc((SV *)hv));
    }

void
conn_pending(engine, conn)
    Future::IO::Redis::Engine engine
    UV conn
  PPCODE:
    /* The connection's commands without their reply yet (fior_conn_pending): (written, not yet
     * written); an empty list when the engine holds no such connection. */
    {
        uint64_t sent = 0, waiting = 0;
        if (fior_conn_pending(engine, conn, &sent, &waiting) != FIOR_RESULT_OK)
            XSRETURN_EMPTY;
        mXPUSHu((UV)sent);
        mXPUSHu((UV)waiting);
    }

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
        fp_arg_slice(aTHX_ ST(4 + i), &args[i], ST(4), i + 1);
    token = fp_future_token(aTHX_ future);
    RETVAL = fior_conn_submit(engine, conn, token, timeout, (size_t)argc, args);
    if (RETVAL)
        fp_release_token(aTHX_ token);
    if (RETVAL == FIOR_RESULT_INVALID_ARGUMENT)
        fp_croak_refused(aTHX_ engine, "invalid command");
  OUTPUT:
    RETVAL

UV
submit_batch(engine, conn, future, commands)
    Future::IO::Redis::Engine engine
    UV conn
    SV *future
    AV *commands
  PREINIT:
    FiorBatchCommand *cmds;
    size_t count;
    uint64_t token;
  CODE:
    /* Sends [ [arg, ...], ... ] as one batch, written together; `future` completes once, with an
     * array of their replies (a failed command's slot holds its error object). Returns 0, or a
     * FiorResult. */
    cmds = fp_batch_commands(aTHX_ commands, &count);
    token = fp_future_token(aTHX_ future);
    RETVAL = fior_conn_submit_batch(engine, conn, token, count, cmds);
    if (RETVAL)
        fp_release_token(aTHX_ token);
    if (RETVAL == FIOR_RESULT_INVALID_ARGUMENT)
        fp_croak_refused(aTHX_ engine, "invalid command");
  OUTPUT:
    RETVAL

void
deliver(engine, handlers, messages = NULL, wait = -2.0)
    Future::IO::Redis::Engine engine
    HV *handlers
    SV *messages
    NV wait
  PREINIT:
    dMY_CXT;
    SV *first_error = NULL;
    IV delivered;
  PPCODE:
    /*
     * Run one engine turn (fior_engine_turn), then hand every completion to what waits for it
     * (fp_deliver): Futures named by their tokens (a pipeline's batch completes as one), and
     * connection events to the connection's handler, $handlers{$conn}->(\%event), and messages
     * of subscribed connections to $messages{$conn}->($type, $channel, $data, $pattern). Each call
     * into Perl is protected, so that a callback that dies cannot lose the other completions;
     * the first such error is reported with warn once all were delivered. Returns the number of
     * completions handled, or -1 if the engine is unusable (poisoned, or a fork child's copy):
     * then nothing more will come. With `wait` >= -1 the turn first waits for the engine's fd
     * (fior_engine_wait_readable: under an event loop that reports the fd ready unasked).
     */
    if (wait >= -1.0)
        (void)fior_engine_wait_readable(engine, wait);
    fior_engine_turn(engine);
    PUTBACK;
    delivered = fp_deliver(aTHX_ engine, &MY_CXT.futures, handlers,
                           messages && SvROK(messages) && SvTYPE(SvRV(messages)) == SVt_PVHV ? (HV *)SvRV(messages) : NULL,
                           &first_error);
    SPAGAIN;
    if (first_error) {
        /* Code run by a Future's callbacks (or an event handler) died. Everything else was still
         * delivered; the error is reported, not thrown into whatever happens to be waiting. */
        warn("Future::IO::Redis: code run while delivering replies died: %" SVf, SVfARG(first_error));
        SvREFCNT_dec(first_error);
    }
    mXPUSHi(fior_engine_is_running(engine) ? delivered : -1);

IV
fail_orphans(engine, error)
    Future::IO::Redis::Engine engine
    SV *error
  CODE:
    /* After the engine stopped, or in a fork child: fail every Future (single commands and
     * pipeline batches) whose work was submitted and will never complete, with `error`.
     * Returns how many were failed. */
    RETVAL = fp_fail_orphans(aTHX_ engine, error);
  OUTPUT:
    RETVAL

BOOT:
{
    MY_CXT_INIT;
    fp_future_cache_init(&MY_CXT.futures);
    fior_engine_stash = gv_stashpv("Future::IO::Redis::Engine", GV_ADD);
}
