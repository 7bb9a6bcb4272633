/* The DynamoDB client: a call is serialized once, then each attempt is signed afresh (new date),
 * sent through the transport, and its answer classified. Retries wait as timers on the I/O thread.
 */
#include "ddb/client.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "ddb/sigv4.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define CONTENT_TYPE "application/x-amz-json-1.0"
#define CREDS_WAIT_MS 500 /* on the I/O thread, when credentials are being refreshed */

struct ddb_client {
    char *endpoint;
    char *host; /* as in the Host header: host[:port] */
    char *region;
    struct ddb_creds_provider *creds;
    struct ddb_transport tr;
    struct ddb_backoff backoff;
    time_t (*wallclock)(void);
    double (*monoclock)(void);

    pthread_mutex_t lock; /* stats and refresh */
    struct ddb_client_stats stats;
    int refreshing;
};

struct call {
    struct ddb_client *c;
    char op[48];
    char *body;
    size_t body_len;
    ddb_call_done_fn *done;
    ddb_call_stream_fn *streamed;    /* instead of done, for ddb_client_call_stream */
    struct ddb_client_stream stream; /* with streamed; else zeroed */
    void *ud;
    int attempt;      /* attempts sent */
    double started;   /* monotonic seconds */
    struct ddb_http_req req;
    struct buf hdr[7]; /* header lines of the current attempt */
    const char *hdr_ptr[7];
    struct ddb_error err; /* the last failure */
};


static time_t wall_default(void)
{
    return time(NULL);
}

/* "http://host:port/path" -> "host:port". */
static char *host_of(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    p += 3;
    const char *at = NULL;
    size_t len = strcspn(p, "/?#");
    for (const char *q = p; q < p + len; q++)
        if (*q == '@')
            at = q;
    if (at) {
        len -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (len == 0)
        return NULL;
    return strndup(p, len);
}

struct ddb_client *ddb_client_new(const struct ddb_client_opts *opts, struct ddb_error *err)
{
    struct ddb_client *c = calloc(1, sizeof *c);
    if (!c) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->endpoint = strdup(opts->endpoint);
    c->region = strdup(opts->region);
    c->host = host_of(opts->endpoint);
    if (!c->endpoint || !c->region) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        goto fail;
    }
    if (!c->host) {
        ddb_error_set(err, DDB_ECONFIG, "endpoint '%s' is not a URL (expected https://HOST[:PORT])",
                      opts->endpoint);
        goto fail;
    }
    c->creds = opts->creds;
    c->tr = opts->transport;
    c->backoff = opts->backoff;
    if (c->backoff.base_ms <= 0 && c->backoff.cap_ms <= 0 && c->backoff.window_ms <= 0)
        ddb_backoff_init(&c->backoff);
    c->wallclock = opts->wallclock ? opts->wallclock : wall_default;
    c->monoclock = opts->monoclock ? opts->monoclock : clock_mono;
    return c;
fail:
    ddb_client_free(c);
    return NULL;
}

void ddb_client_free(struct ddb_client *c)
{
    if (!c)
        return;
    /* A refresh thread may still run; it holds no pointer to c once it has cleared refreshing. */
    for (;;) {
        pthread_mutex_lock(&c->lock);
        int busy = c->refreshing;
        pthread_mutex_unlock(&c->lock);
        if (!busy)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(c->endpoint);
    free(c->host);
    free(c->region);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

double ddb_client_now(struct ddb_client *c)
{
    return c->monoclock();
}

const struct ddb_backoff *ddb_client_backoff(struct ddb_client *c)
{
    return &c->backoff;
}

int ddb_client_timer(struct ddb_client *c, long delay_ms, ddb_timer_fn *fn, void *ud)
{
    return c->tr.timer(c->tr.impl, delay_ms, fn, ud);
}

int ddb_client_on_io_thread(struct ddb_client *c)
{
    return c->tr.on_io_thread(c->tr.impl);
}

void ddb_client_stats(struct ddb_client *c, struct ddb_client_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

static void call_free(struct call *k)
{
    for (size_t i = 0; i < 7; i++)
        buf_cleanup(&k->hdr[i]);
    buf_cleanup(&k->req.response);
    free(k->body);
    free(k);
}

/* Ends the call: exactly one done per call. */
static void call_end(struct call *k, json_t *resp)
{
    k->err.attempts = k->attempt;
    if (k->streamed)
        k->streamed(&k->err, NULL, 0, k->ud);
    else
        k->done(resp, resp ? NULL : &k->err, k->ud);
    call_free(k);
}

/* ---- credentials off the I/O thread ---- */

static void *refresh_main(void *arg)
{
    struct ddb_client *c = arg;
    struct ddb_credentials cr = {0};
    struct ddb_error e;
    ddb_error_clear(&e);
    if (ddb_creds_get(c->creds, c->wallclock(), &cr, &e) != 0)
        log_warn("could not refresh credentials: %s", e.message);
    ddb_credentials_cleanup(&cr);
    pthread_mutex_lock(&c->lock);
    c->refreshing = 0;
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void refresh_in_background(struct ddb_client *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->refreshing) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->refreshing = 1;
    pthread_mutex_unlock(&c->lock);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, refresh_main, c) != 0) {
        pthread_mutex_lock(&c->lock);
        c->refreshing = 0;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_attr_destroy(&a);
}

/* 0: got credentials. 1: wait and try again (I/O thread, refresh under way). -1: failed. */
static int get_creds(struct ddb_client *c, struct ddb_credentials *cr, struct ddb_error *err)
{
    time_t now = c->wallclock();
    if (!c->tr.on_io_thread(c->tr.impl))
        return ddb_creds_get(c->creds, now, cr, err);
    if (ddb_creds_peek(c->creds, now, cr) == 0) {
        if (cr->expiration && cr->expiration - now < DDB_CREDS_REFRESH_S)
            refresh_in_background(c);
        return 0;
    }
    refresh_in_background(c);
    return 1;
}

/* ---- attempts ---- */

static void on_answer(struct ddb_http_req *r, void *ud);
static void send_attempt(struct call *k);

static void retry_timer(void *ud)
{
    send_attempt(ud);
}

/* Schedules another attempt if the window allows, else ends the call with k->err. */
static void retry_or_end(struct call *k, long delay_ms)
{
    struct ddb_client *c = k->c;
    double elapsed_ms = (c->monoclock() - k->started) * 1000.0;
    if (elapsed_ms + (double)delay_ms > (double)c->backoff.window_ms) {
        size_t len = strlen(k->err.message);
        if (len + 64 < sizeof k->err.message)
            snprintf(k->err.message + len, sizeof k->err.message - len,
                     " (gave up after %d attempts over %.0f s)", k->attempt, elapsed_ms / 1000.0);
        call_end(k, NULL);
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->stats.retries++;
    pthread_mutex_unlock(&c->lock);
    if (ddb_client_timer(c, delay_ms, retry_timer, k) != 0) {
        ddb_error_set(&k->err, DDB_ECANCELED, "%s: canceled (the client is shutting down)", k->op);
        call_end(k, NULL);
    }
}

static int set_header(struct call *k, size_t i, const char *fmt, const char *v)
{
    buf_reset(&k->hdr[i]);
    if (buf_addf(&k->hdr[i], fmt, v) != BUF_OK)
        return -1;
    k->hdr_ptr[i] = buf_str(&k->hdr[i]);
    return 0;
}

static void send_attempt(struct call *k)
{
    struct ddb_client *c = k->c;
    struct ddb_credentials cr = {0};
    struct ddb_sigv4_result sig;
    ddb_sigv4_result_init(&sig);
    char target[96];
    snprintf(target, sizeof target, TARGET_PREFIX "%s", k->op);

    int rc = get_creds(c, &cr, &k->err);
    if (rc == 1) {
        ddb_error_set(&k->err, DDB_ECREDENTIALS, "%s: credentials expired and are being refreshed",
                      k->op);
        retry_or_end(k, CREDS_WAIT_MS);
        goto out;
    }
    if (rc != 0) {
        call_end(k, NULL);
        goto out;
    }

    struct ddb_header hs[] = {
        {"Content-Type", CONTENT_TYPE},
        {"Host", c->host},
        {"X-Amz-Target", target},
    };
    struct ddb_sigv4_request sr = {
        .method = "POST",
        .path = "/",
        .query = NULL,
        .headers = hs,
        .nheaders = sizeof hs / sizeof hs[0],
        .body = k->body,
        .body_len = k->body_len,
    };
    struct ddb_sigv4_params sp = {
        .access_key_id = cr.access_key_id,
        .secret_access_key = cr.secret_access_key,
        .session_token = cr.session_token,
        .region = c->region,
        .service = "dynamodb",
        .now = c->wallclock(),
        .normalize_path = 1,
    };
    if (ddb_sigv4_sign(&sr, &sp, &sig) != 0) {
        ddb_error_set(&k->err, DDB_ENOMEM, "%s: could not sign the request", k->op);
        call_end(k, NULL);
        goto out;
    }
    size_t n = 0;
    int bad = set_header(k, n++, "Content-Type: %s", CONTENT_TYPE) ||
              set_header(k, n++, "Host: %s", c->host) ||
              set_header(k, n++, "X-Amz-Target: %s", target) ||
              set_header(k, n++, "X-Amz-Date: %s", sig.amz_date) ||
              set_header(k, n++, "Authorization: %s", buf_str(&sig.authorization));
    if (!bad && cr.session_token && *cr.session_token)
        bad = set_header(k, n++, "X-Amz-Security-Token: %s", cr.session_token);
    if (bad) {
        ddb_error_set(&k->err, DDB_ENOMEM, "%s: out of memory", k->op);
        call_end(k, NULL);
        goto out;
    }
    k->req.url = c->endpoint;
    k->req.headers = k->hdr_ptr;
    k->req.nheaders = n;
    k->req.body = k->body;
    k->req.body_len = k->body_len;
    k->req.done = on_answer;
    k->req.ud = k;
    if (k->stream.bytes) {
        k->stream.begin(k->ud);
        k->req.sink = k->stream.bytes;
        k->req.sink_ud = k->ud;
    }
    k->attempt++;
    pthread_mutex_lock(&c->lock);
    c->stats.attempts++;
    pthread_mutex_unlock(&c->lock);
    if (c->tr.submit(c->tr.impl, &k->req) != 0) {
        ddb_error_set(&k->err, DDB_ECANCELED, "%s: canceled (the client is shutting down)", k->op);
        call_end(k, NULL);
    }
out:
    ddb_sigv4_result_cleanup(&sig);
    ddb_credentials_cleanup(&cr);
}

static void on_answer(struct ddb_http_req *r, void *ud)
{
    struct call *k = ud;
    struct ddb_client *c = k->c;
    ddb_error_clear(&k->err);
    k->err.http_status = r->status;
    snprintf(k->err.request_id, sizeof k->err.request_id, "%s", r->request_id);

    if (r->status == 200 && k->streamed) {
        char why[256] = "";
        if (k->streamed(NULL, why, sizeof why, k->ud) == 0) {
            log_debug("%s: HTTP 200, streamed, attempt %d", k->op, k->attempt);
            call_free(k);
            return;
        }
        ddb_error_set(&k->err, DDB_EPROTOCOL, "%s: the answer is not valid (%s)", k->op, why);
        k->err.http_status = r->status;
        retry_or_end(k, ddb_backoff_delay_ms(&c->backoff, k->attempt - 1, ddb_retry_random()));
        return;
    }
    if (r->status == 200) {
        json_error_t je;
        json_t *resp = json_loadb(r->response.data ? r->response.data : "", r->response.len, 0, &je);
        if (resp) {
            log_debug("%s: HTTP 200, %zu bytes, attempt %d", k->op, r->response.len, k->attempt);
            call_end(k, resp);
            return;
        }
        /* A cut-short body is a network failure in disguise: retry it. */
        ddb_error_set(&k->err, DDB_EPROTOCOL, "%s: the answer is not valid JSON (%s at byte %d)",
                      k->op, je.text, je.position);
        k->err.http_status = r->status;
        retry_or_end(k, ddb_backoff_delay_ms(&c->backoff, k->attempt - 1, ddb_retry_random()));
        return;
    }

    enum ddb_retry_class cls;
    if (r->transport_failed) {
        ddb_error_set(&k->err, r->timed_out ? DDB_ETIMEOUT : DDB_ENETWORK, "%s: %s (%s)", k->op,
                      r->error, c->endpoint);
        cls = strcmp(r->error, "canceled") == 0 ? DDB_RETRY_NEVER : DDB_RETRY_TRANSIENT;
        if (cls == DDB_RETRY_NEVER)
            k->err.code = DDB_ECANCELED;
        else if (r->permanent)
            cls = DDB_RETRY_NEVER; /* an untrusted TLS certificate stays untrusted */
    } else {
        ddb_error_from_response(&k->err, r->status, r->response.data ? r->response.data : "",
                                r->response.len, r->request_id);
        cls = ddb_retry_classify(r->status, k->err.type, 0);
    }
    log_debug("%s: attempt %d failed: HTTP %ld %s: %s", k->op, k->attempt, r->status, k->err.type,
              k->err.message);
    if (cls == DDB_RETRY_NEVER) {
        call_end(k, NULL);
        return;
    }
    if (cls == DDB_RETRY_THROTTLE) {
        pthread_mutex_lock(&c->lock);
        c->stats.throttled++;
        pthread_mutex_unlock(&c->lock);
    }
    retry_or_end(k, ddb_backoff_delay_ms(&c->backoff, k->attempt - 1, ddb_retry_random()));
}

static int call_start(struct ddb_client *c, const char *op, const json_t *body,
                      ddb_call_done_fn *done, ddb_call_stream_fn *streamed,
                      const struct ddb_client_stream *stream, void *ud, struct ddb_error *err);

int ddb_client_call(struct ddb_client *c, const char *op, const json_t *body,
                    ddb_call_done_fn *done, void *ud, struct ddb_error *err)
{
    return call_start(c, op, body, done, NULL, NULL, ud, err);
}

int ddb_client_call_stream(struct ddb_client *c, const char *op, const json_t *body,
                           const struct ddb_client_stream *stream, ddb_call_stream_fn *done,
                           void *ud, struct ddb_error *err)
{
    return call_start(c, op, body, NULL, done, stream, ud, err);
}

static int call_start(struct ddb_client *c, const char *op, const json_t *body,
                      ddb_call_done_fn *done, ddb_call_stream_fn *streamed,
                      const struct ddb_client_stream *stream, void *ud, struct ddb_error *err)
{
    struct call *k = calloc(1, sizeof *k);
    if (!k) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return -1;
    }
    k->c = c;
    snprintf(k->op, sizeof k->op, "%s", op);
    k->done = done;
    k->streamed = streamed;
    if (stream)
        k->stream = *stream;
    k->ud = ud;
    for (size_t i = 0; i < 7; i++)
        buf_init(&k->hdr[i], 64 * 1024);
    k->body = json_dumps(body, JSON_COMPACT);
    if (!k->body) {
        ddb_error_set(err, DDB_ENOMEM, "%s: could not serialize the request", op);
        call_free(k);
        return -1;
    }
    k->body_len = strlen(k->body);
    if (k->body_len > DDB_REQUEST_MAX) {
        ddb_error_set(err, DDB_ELIMIT, "%s: request of %zu bytes is over the limit", op, k->body_len);
        call_free(k);
        return -1;
    }
    k->started = c->monoclock();
    pthread_mutex_lock(&c->lock);
    c->stats.calls++;
    pthread_mutex_unlock(&c->lock);
    send_attempt(k);
    return 0;
}

/* ---- the blocking wrapper ---- */

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    json_t *resp;
    struct ddb_error err;
};

static void wake(json_t *resp, const struct ddb_error *err, void *ud)
{
    struct waiter *w = ud;
    pthread_mutex_lock(&w->lock);
    w->resp = resp;
    if (err)
        w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

json_t *ddb_client_call_sync(struct ddb_client *c, const char *op, const json_t *body,
                             struct ddb_error *err)
{
    struct waiter w = {.done = 0, .resp = NULL};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    ddb_error_clear(&w.err);
    json_t *resp = NULL;
    if (ddb_client_call(c, op, body, wake, &w, err) != 0)
        goto out;
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    resp = w.resp;
    if (!resp && err)
        *err = w.err;
out:
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return resp;
}
