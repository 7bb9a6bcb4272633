/* The DynamoDB JSON 1.0 client: sign, send, classify, retry with backoff (as timers on the I/O
 * thread), and hand back the parsed answer.
 *
 * Calls are asynchronous; ddb_client_call_sync is a thin blocking wrapper (never call it on the
 * I/O thread). */
#ifndef DDB_CLIENT_H
#define DDB_CLIENT_H

#include <jansson.h>
#include <time.h>

#include "ddb/creds.h"
#include "ddb/error.h"
#include "ddb/http.h"
#include "ddb/retry.h"

struct ddb_client_opts {
    const char *endpoint;             /* URL, copied */
    const char *region;               /* copied */
    struct ddb_creds_provider *creds; /* borrowed; must outlive the client */
    struct ddb_transport transport;   /* borrowed */
    struct ddb_backoff backoff;       /* zeroed: DynamoDB's defaults */
    time_t (*wallclock)(void);        /* for signing; NULL: time(NULL) */
    double (*monoclock)(void);        /* seconds, for throttles and retry windows; NULL: CLOCK_MONOTONIC */
};

struct ddb_client; /* opaque, thread-safe */

struct ddb_client *ddb_client_new(const struct ddb_client_opts *opts, struct ddb_error *err);
void ddb_client_free(struct ddb_client *c);

/* Done callback, on the I/O thread. resp: a new reference to the parsed answer (the callee owns it
 * and must json_decref it) or NULL when err->code != DDB_OK. err is borrowed for the call. */
typedef void ddb_call_done_fn(json_t *resp, const struct ddb_error *err, void *ud);

/* Sends operation op ("Scan", "BatchWriteItem"...) with body (borrowed: serialized before this
 * returns). Throttling, 5xx and network errors are retried within the backoff window; other errors
 * surface at once. done runs exactly once, unless this returns -1 (then err is filled). */
int ddb_client_call(struct ddb_client *c, const char *op, const json_t *body,
                    ddb_call_done_fn *done, void *ud, struct ddb_error *err);

/* Streaming form, for answers that should never be held in memory (Scan pages): the body of each
 * HTTP 200 answer goes to stream->bytes as it arrives (on the I/O thread), and stream->begin runs
 * before each attempt is sent, so that the bytes of an attempt cut half-way can be forgotten. Then
 * done runs (I/O thread) with err NULL: it judges the answer from the bytes it was given, and
 * returns 0 to take it (the call ends) or -1 with why filled when they are not a valid answer,
 * which the client treats as a cut-short body: retried within the backoff window. When the call
 * fails, done runs once more with err set (its return value ignored). stream is copied; every
 * function gets ud. */
struct ddb_client_stream {
    void (*begin)(void *ud);
    void (*bytes)(const char *p, size_t n, void *ud);
};
typedef int ddb_call_stream_fn(const struct ddb_error *err, char *why, size_t whylen, void *ud);
int ddb_client_call_stream(struct ddb_client *c, const char *op, const json_t *body,
                           const struct ddb_client_stream *stream, ddb_call_stream_fn *done,
                           void *ud, struct ddb_error *err);

/* Blocking form. Returns a new reference, or NULL with err filled. */
json_t *ddb_client_call_sync(struct ddb_client *c, const char *op, const json_t *body,
                             struct ddb_error *err);

/* The I/O loop's services, for the state machines built on the client (scan, batch). */
int ddb_client_timer(struct ddb_client *c, long delay_ms, ddb_timer_fn *fn, void *ud);
int ddb_client_on_io_thread(struct ddb_client *c);
double ddb_client_now(struct ddb_client *c); /* monotonic seconds */
/* The client's backoff settings (borrowed), for state machines that back off themselves. */
const struct ddb_backoff *ddb_client_backoff(struct ddb_client *c);

/* Totals since the client was made (for reports and tests). */
struct ddb_client_stats {
    long calls;    /* ddb_client_call()s */
    long attempts; /* HTTP requests sent */
    long retries;  /* attempts after the first */
    long throttled; /* throttling answers */
};
void ddb_client_stats(struct ddb_client *c, struct ddb_client_stats *out);

#endif
