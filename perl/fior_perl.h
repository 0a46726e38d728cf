/*
 * Helpers of the XS glue (perl/Redis.xs), in perl/fior_perl.c: Perl values to byte slices and
 * options, replies and failures to Perl values and error objects, and the delivery of
 * completions to the Futures (and connection event handlers) that wait for them.
 *
 * Include after EXTERN.h, perl.h and XSUB.h (with PERL_NO_GET_CONTEXT defined) and fior.h.
 * Nothing here runs while a Rust frame is on the stack: each helper calls fior_* functions
 * only between its own calls into Perl, and croaks (where it says so) before any.
 */
#ifndef FIOR_PERL_H
#define FIOR_PERL_H

/* Resolving a Future calls its class's `done` or `fail`; the two CVs are cached per class (see
 * fp_future_method). The cache belongs to the interpreter: the XS module keeps it in its MY_CXT
 * and passes it in. */
typedef struct {
    HV *future_class;
    U32 generation;
    CV *done;
    CV *fail;
} fp_future_cache;

void fp_future_cache_init(fp_future_cache *cache);
void fp_future_cache_forget(pTHX_ fp_future_cache *cache);

/* Tokens: every command, batch, connect or close is named by an RV to the Future that waits
 * for it (a counted reference, which the engine holds until the completion is delivered). */
uint64_t fp_future_token(pTHX_ SV *future);
void fp_release_token(pTHX_ uint64_t token);

/* Names of the engine's enums, as Perl sees them. */
const char *fp_error_kind_name(FiorErrorKind k);
const char *fp_timeout_kind_name(FiorTimeoutKind k); /* NULL for none */
const char *fp_reason_name(FiorDisconnectReason r);

/* Future::IO::Redis::Error->from_kind($kind, $message, %fields) (fields: name/SV pairs whose
 * references are taken); never dies: falls back to an object built in C. */
SV *fp_new_error(pTHX_ const char *kind, const char *msg, STRLEN len, int nfields, const char **names, SV **values);
SV *fp_redis_error(pTHX_ const uint8_t *ptr, size_t len);
/* A reply (pre-order nodes) as a Perl value, without recursion. */
SV *fp_reply_to_sv(pTHX_ const FiorNode *nodes, size_t n);
/* A Reply, Done or Failed completion (or batch item) as a Perl value: the reply, undef, or an
 * error object; *failed is set for a failure or a top-level error reply. */
SV *fp_completion_value(pTHX_ const FiorCompletion *c, int *failed);
SV *fp_adopt_bulk(pTHX_ FiorEngine *engine, const FiorCompletion *c);

/* Arguments and options. fp_croak_at_caller dies through Carp::croak. */
void fp_croak_at_caller(pTHX_ SV *msg);
void fp_arg_slice(pTHX_ SV *sv, FiorSlice *out, SV *first, IV index);
/* The connection options of `opts` as the engine takes them: one FiorOption per defined value,
 * the `timeout` and `tls` hashes flattened (`timeout.NAME`, `tls.KEY`). Returns how many; the
 * list and what it points to live until the end of the enclosing XSUB. */
size_t fp_options(pTHX_ HV *opts, FiorOption **out);
/* [ [arg, ...], ... ] as batch commands (memory freed at the end of the enclosing XSUB);
 * croaks for what is not a command. */
FiorBatchCommand *fp_batch_commands(pTHX_ AV *commands, size_t *count);
/* Croak, naming the caller, with why the engine refused the last call's arguments. */
void fp_croak_refused(pTHX_ FiorEngine *engine, const char *fallback);

/* Hand every completion waiting in the engine to what waits for it (call after a turn); returns
 * how many were handled. A callback that dies does not stop the others: the first such error
 * is stored in *first_error (a new SV) for the caller to rethrow. */
IV fp_deliver(pTHX_ FiorEngine *engine, fp_future_cache *cache, HV *handlers, HV *message_handlers, SV **first_error);
/* Fail, with `error`, every Future whose work was submitted and will never complete (a fork
 * child, or a stopped engine); returns how many. */
IV fp_fail_orphans(pTHX_ FiorEngine *engine, SV *error);

#endif
