/* The HTTP engine: one I/O thread owns a libcurl multi handle and every easy handle. Other threads
 * submit requests on a queue and wake the thread with curl_multi_wakeup; completions and timers run
 * on the I/O thread. Connections are reused (HTTP/1.1 keep-alive); at most max_in_flight requests
 * are on the wire, the rest wait in order.
 *
 * The client talks to it through struct ddb_transport, so tests can put a fake in its place. */
#ifndef DDB_HTTP_H
#define DDB_HTTP_H

#include <stddef.h>

#include "base/buf.h"
#include "ddb/error.h"
#include "ddb/timers.h" /* ddb_timer_fn */

struct ddb_http_req;
typedef void ddb_http_done_fn(struct ddb_http_req *r, void *ud);

/* One exchange. The submitter owns the struct and everything it points to until done runs. Zero it
 * before its first submit; it may be submitted again after done has run (a retry). */
struct ddb_http_req {
    /* In: */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *body;
    size_t body_len;
    ddb_http_done_fn *done; /* runs on the I/O thread */
    void *ud;
    /* Optional: the body of an HTTP 200 answer is handed to sink as it arrives (on the I/O thread,
     * in order, in chunks of any size) instead of being kept in response, so that an answer of any
     * size costs no memory here. Other answers' bodies still go to response. A cut-short body
     * shows as transport_failed when done runs; the bytes already handed over are then the
     * sink's to forget. */
    void (*sink)(const char *p, size_t n, void *ud);
    void *sink_ud;
    /* Out, valid when done runs: */
    long status;          /* HTTP status, 0 when no answer was received */
    int transport_failed; /* 1: connect, send, receive or timeout failure (see error) */
    int timed_out;        /* 1: the failure was a timeout */
    int permanent;        /* 1: a retry cannot help (the TLS certificate is not trusted) */
    char error[256];      /* the transport's message when transport_failed */
    char request_id[80];  /* x-amzn-RequestId */
    struct buf response;  /* body (not a 200 one's with sink), capped at DDB_RESPONSE_MAX;
                             emptied by submit */
    /* Engine's: */
    void *priv;
    struct ddb_http_req *next;
};

/* Releases r->response (the rest belongs to the submitter). */
void ddb_http_req_cleanup(struct ddb_http_req *r);

struct ddb_transport {
    void *impl;
    /* Queues r; done runs later on the I/O thread (also on failure). Returns 0, or -1 when the
     * engine is shutting down (done will not run). */
    int (*submit)(void *impl, struct ddb_http_req *r);
    /* Runs fn(ud) on the I/O thread after delay_ms. Returns 0 or -1 (shutting down). */
    int (*timer)(void *impl, long delay_ms, ddb_timer_fn *fn, void *ud);
    /* 1 when called on the I/O thread. */
    int (*on_io_thread)(void *impl);
};

struct ddb_http_opts {
    long connect_timeout_ms; /* 0: 10 s */
    long timeout_ms;         /* whole request; 0: 60 s */
    int max_in_flight;       /* 0: 64 */
    const char *ca_file;     /* NULL: the system's store */
    int insecure;            /* 1: do not verify TLS certificates (never the default) */
};

struct ddb_http; /* opaque */

/* Starts the I/O thread (with all signals blocked). Call after fork (FUSE's init). */
struct ddb_http *ddb_http_new(const struct ddb_http_opts *opts, struct ddb_error *err);
/* Stops the thread. While it stops, submits and new timers are refused (-1); requests still
 * queued or in flight complete with transport_failed and error "canceled", and timers not yet due
 * run at once, so that every state machine built on the engine sees its end. */
void ddb_http_free(struct ddb_http *h);
/* A transport view of the engine (borrowed: valid while h lives). */
struct ddb_transport ddb_http_transport(struct ddb_http *h);

int ddb_http_submit(struct ddb_http *h, struct ddb_http_req *r);
int ddb_http_timer(struct ddb_http *h, long delay_ms, ddb_timer_fn *fn, void *ud);
int ddb_http_on_io_thread(struct ddb_http *h);

/* Requests currently on the wire and waiting (for tests and reports). */
void ddb_http_stats(struct ddb_http *h, int *in_flight, int *queued, long *connections_made);

#endif
