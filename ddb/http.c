/* The I/O thread: a libcurl multi handle, a queue of submitted requests, and timers.
 *
 * Everything curl touches lives on the I/O thread. Other threads only take the lock to append to
 * the submission lists and then call curl_multi_wakeup. */
#include "ddb/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/limits.h"
#include "base/clock.h"
#include "base/log.h"
#include "ddb/timers.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_MAX_IN_FLIGHT 64

/* Per-transfer state, kept with the easy handle. */
struct xfer {
    struct xfer *prev, *next; /* on the active list while on the wire */
    struct ddb_http_req *req;
    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    int overflow;
    int to_sink; /* -1: not known yet (no body byte so far), 0: into response, 1: to the sink */
};

struct ddb_http {
    struct ddb_http_opts opts;
    pthread_t thread;
    CURLM *multi;

    pthread_mutex_t lock; /* guards the fields down to 'stopping' */
    struct ddb_http_req *sub_head, *sub_tail;
    struct ddb_timer *new_timers; /* in submission order; seq is set when they join the heap */
    size_t n_new_timers, cap_new_timers;
    int stopping;
    int in_flight_shared, queued_shared;
    long connects_shared;

    /* I/O thread only: */
    struct ddb_http_req *wait_head, *wait_tail; /* beyond the in-flight cap */
    int in_flight;
    struct xfer *active;      /* on the wire */
    struct ddb_timers timers; /* deadlines in now_ms() */
    struct xfer **pool;       /* idle easy handles, reused so connections and DNS stay warm */
    size_t n_pool, cap_pool;
};

/* The timers' clock: monotonic milliseconds. */
static double now_ms(void)
{
    return clock_mono() * 1000.0;
}

/* ---- curl callbacks ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct ddb_http_req *r = ud;
    struct xfer *x = r->priv;
    size_t n = size * nmemb;
    if (x->to_sink < 0) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        x->to_sink = r->sink && status == 200;
    }
    if (x->to_sink) {
        r->sink(ptr, n, r->sink_ud);
        return n;
    }
    if (buf_add(&r->response, ptr, n) != BUF_OK) {
        x->overflow = 1;
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct ddb_http_req *r = ud;
    size_t n = size * nmemb;
    static const char name[] = "x-amzn-requestid:";
    if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        const char *v = ptr + sizeof name - 1;
        const char *end = ptr + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        size_t len = (size_t)(end - v);
        if (len >= sizeof r->request_id)
            len = sizeof r->request_id - 1;
        memcpy(r->request_id, v, len);
        r->request_id[len] = '\0';
    }
    return n;
}

/* ---- transfers ---- */

static struct xfer *xfer_get(struct ddb_http *h)
{
    if (h->n_pool)
        return h->pool[--h->n_pool];
    struct xfer *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return NULL;
    }
    return x;
}

static void xfer_put(struct ddb_http *h, struct xfer *x)
{
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    if (h->n_pool == h->cap_pool) {
        size_t cap = h->cap_pool ? h->cap_pool * 2 : 16;
        struct xfer **p = realloc(h->pool, cap * sizeof *p);
        if (!p) {
            curl_easy_cleanup(x->easy);
            free(x);
            return;
        }
        h->pool = p;
        h->cap_pool = cap;
    }
    curl_easy_reset(x->easy);
    h->pool[h->n_pool++] = x;
}

static void finish(struct ddb_http *h, struct ddb_http_req *r)
{
    (void)h;
    r->priv = NULL;
    r->done(r, r->ud);
}

static void fail_now(struct ddb_http *h, struct ddb_http_req *r, const char *why)
{
    r->status = 0;
    r->transport_failed = 1;
    snprintf(r->error, sizeof r->error, "%s", why);
    finish(h, r);
}

static void start(struct ddb_http *h, struct ddb_http_req *r)
{
    struct xfer *x = xfer_get(h);
    if (!x) {
        fail_now(h, r, "out of memory starting a request");
        return;
    }
    x->errbuf[0] = '\0';
    x->overflow = 0;
    x->to_sink = -1;
    for (size_t i = 0; i < r->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(x->headers, r->headers[i]);
        if (!l) {
            xfer_put(h, x);
            fail_now(h, r, "out of memory building headers");
            return;
        }
        x->headers = l;
    }
    /* No "Expect: 100-continue" round trip before large bodies. */
    struct curl_slist *l = curl_slist_append(x->headers, "Expect:");
    if (l)
        x->headers = l;
    r->priv = x;

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    /* Only http and https, never a redirect (DynamoDB does not send one; a Location elsewhere
     * would carry the signed request away), and TLS certificates verified, peer and host name,
     * unless the caller asked otherwise. Said here, not left to curl's defaults. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->opts.insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->opts.insecure ? 0L : 2L);
    if (h->opts.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->opts.ca_file);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        r->priv = NULL;
        xfer_put(h, x);
        fail_now(h, r, "could not start the transfer");
        return;
    }
    x->req = r;
    x->prev = NULL;
    x->next = h->active;
    if (h->active)
        h->active->prev = x;
    h->active = x;
    h->in_flight++;
}

/* Failures of TLS trust: the certificate chain, the host name, the CA file. A retry would fail
 * the same way, so they are permanent. */
static int tls_trust_failure(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CRL_BADFILE;
}

/* Says why the server was refused and what to do (the message reaches the user's terminal when
 * ddbfs checks the endpoint before mounting). */
static void tls_explain(struct ddb_http *h, struct ddb_http_req *r, CURLcode rc, const char *why)
{
    r->permanent = 1;
    if (rc == CURLE_SSL_CACERT_BADFILE)
        snprintf(r->error, sizeof r->error, "cannot use the CA certificates in %s (ca_file=): %s",
                 h->opts.ca_file ? h->opts.ca_file : "the system's store", why);
    else
        snprintf(r->error, sizeof r->error,
                 "the server's TLS certificate is not trusted (%s); if it is signed by a private "
                 "CA, give that CA's certificate with -o ca_file=FILE",
                 why);
}

static void unlink_active(struct ddb_http *h, struct xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        h->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void complete(struct ddb_http *h, CURL *e, CURLcode rc)
{
    struct ddb_http_req *r = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
    struct xfer *x = r->priv;
    long connects = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    curl_multi_remove_handle(h->multi, e);
    unlink_active(h, x);
    h->in_flight--;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    } else {
        r->status = 0;
        r->transport_failed = 1;
        r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        if (x->overflow)
            snprintf(r->error, sizeof r->error, "response larger than %u bytes",
                     (unsigned)DDB_RESPONSE_MAX);
        else if (tls_trust_failure(rc))
            tls_explain(h, r, rc, why);
        else
            snprintf(r->error, sizeof r->error, "%s", why);
    }
    xfer_put(h, x);
    pthread_mutex_lock(&h->lock);
    h->connects_shared += connects;
    pthread_mutex_unlock(&h->lock);
    finish(h, r);
}

/* ---- the loop ---- */

static void take_submissions(struct ddb_http *h)
{
    pthread_mutex_lock(&h->lock);
    struct ddb_http_req *head = h->sub_head;
    h->sub_head = h->sub_tail = NULL;
    struct ddb_timer *timers = h->new_timers;
    size_t nt = h->n_new_timers;
    h->new_timers = NULL;
    h->n_new_timers = h->cap_new_timers = 0;
    pthread_mutex_unlock(&h->lock);

    while (head) {
        struct ddb_http_req *r = head;
        head = r->next;
        r->next = NULL;
        if (h->wait_tail)
            h->wait_tail->next = r;
        else
            h->wait_head = r;
        h->wait_tail = r;
    }
    for (size_t i = 0; i < nt; i++) {
        if (ddb_timers_push(&h->timers, timers[i].due, timers[i].fn, timers[i].ud) != 0) {
            log_error("out of memory queueing a timer; running it now");
            timers[i].fn(timers[i].ud);
        }
    }
    free(timers);
}

static void start_waiting(struct ddb_http *h)
{
    while (h->wait_head && h->in_flight < h->opts.max_in_flight) {
        struct ddb_http_req *r = h->wait_head;
        h->wait_head = r->next;
        if (!h->wait_head)
            h->wait_tail = NULL;
        r->next = NULL;
        start(h, r);
    }
}

static void reap(struct ddb_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            complete(h, m->easy_handle, m->data.result);
}

static void run_due_timers(struct ddb_http *h)
{
    double now = now_ms(), due;
    struct ddb_timer t;
    while (ddb_timers_peek_due(&h->timers, &due) == 0 && due <= now) {
        ddb_timers_pop(&h->timers, &t);
        t.fn(t.ud);
    }
}

static void publish_stats(struct ddb_http *h)
{
    int queued = 0;
    for (struct ddb_http_req *r = h->wait_head; r; r = r->next)
        queued++;
    pthread_mutex_lock(&h->lock);
    h->in_flight_shared = h->in_flight;
    h->queued_shared = queued;
    pthread_mutex_unlock(&h->lock);
}

static void shutdown_all(struct ddb_http *h)
{
    /* Cancel what is on the wire. */
    while (h->active) {
        struct xfer *x = h->active;
        struct ddb_http_req *r = x->req;
        unlink_active(h, x);
        curl_multi_remove_handle(h->multi, x->easy);
        h->in_flight--;
        xfer_put(h, x);
        fail_now(h, r, "canceled");
    }
    /* Then whatever is queued, and timers, until nothing new comes (callbacks may submit; those
     * submits are refused because stopping is set). */
    for (;;) {
        take_submissions(h);
        if (!h->wait_head && !ddb_timers_count(&h->timers))
            break;
        while (h->wait_head) {
            struct ddb_http_req *r = h->wait_head;
            h->wait_head = r->next;
            if (!h->wait_head)
                h->wait_tail = NULL;
            r->next = NULL;
            fail_now(h, r, "canceled");
        }
        struct ddb_timer t;
        while (ddb_timers_pop(&h->timers, &t) == 0)
            t.fn(t.ud);
    }
}

static void *loop(void *arg)
{
    struct ddb_http *h = arg;
    for (;;) {
        take_submissions(h);
        pthread_mutex_lock(&h->lock);
        int stopping = h->stopping;
        pthread_mutex_unlock(&h->lock);
        if (stopping)
            break;
        start_waiting(h);
        int running = 0;
        curl_multi_perform(h->multi, &running);
        reap(h);
        run_due_timers(h);
        start_waiting(h);
        publish_stats(h);

        long timeout = 1000;
        long ct = -1;
        curl_multi_timeout(h->multi, &ct);
        if (ct >= 0 && ct < timeout)
            timeout = ct;
        double due;
        if (ddb_timers_peek_due(&h->timers, &due) == 0) {
            double d = due - now_ms();
            long dl = d <= 0 ? 0 : (long)d + 1;
            if (dl < timeout)
                timeout = dl;
        }
        if (timeout > 0)
            curl_multi_poll(h->multi, NULL, 0, (int)timeout, NULL);
    }
    shutdown_all(h);
    return NULL;
}

/* ---- public ---- */

struct ddb_http *ddb_http_new(const struct ddb_http_opts *opts, struct ddb_error *err)
{
    struct ddb_http *h = calloc(1, sizeof *h);
    if (!h) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return NULL;
    }
    if (opts)
        h->opts = *opts;
    if (h->opts.connect_timeout_ms <= 0)
        h->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (h->opts.timeout_ms <= 0)
        h->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (h->opts.max_in_flight <= 0)
        h->opts.max_in_flight = DEFAULT_MAX_IN_FLIGHT;
    pthread_mutex_init(&h->lock, NULL);
    ddb_timers_init(&h->timers);
    h->multi = curl_multi_init();
    if (!h->multi) {
        ddb_error_set(err, DDB_ENOMEM, "could not create the HTTP engine");
        goto fail;
    }
    /* Keep enough connections open for every request in flight. */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->opts.max_in_flight);

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&h->thread, NULL, loop, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ddb_error_set(err, DDB_ENOMEM, "could not start the I/O thread");
        goto fail;
    }
    return h;
fail:
    if (h->multi)
        curl_multi_cleanup(h->multi);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return NULL;
}

void ddb_http_free(struct ddb_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
    pthread_join(h->thread, NULL);
    for (size_t i = 0; i < h->n_pool; i++) {
        curl_easy_cleanup(h->pool[i]->easy);
        free(h->pool[i]);
    }
    free(h->pool);
    ddb_timers_cleanup(&h->timers);
    free(h->new_timers);
    curl_multi_cleanup(h->multi);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int ddb_http_submit(struct ddb_http *h, struct ddb_http_req *r)
{
    r->status = 0;
    r->transport_failed = 0;
    r->timed_out = 0;
    r->permanent = 0;
    r->error[0] = '\0';
    r->request_id[0] = '\0';
    r->priv = NULL;
    r->next = NULL;
    r->response.max = DDB_RESPONSE_MAX;
    buf_reset(&r->response);
    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    if (h->sub_tail)
        h->sub_tail->next = r;
    else
        h->sub_head = r;
    h->sub_tail = r;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
    return 0;
}

int ddb_http_timer(struct ddb_http *h, long delay_ms, ddb_timer_fn *fn, void *ud)
{
    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    if (h->n_new_timers == h->cap_new_timers) {
        size_t cap = h->cap_new_timers ? h->cap_new_timers * 2 : 16;
        struct ddb_timer *p = realloc(h->new_timers, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&h->lock);
            return -1;
        }
        h->new_timers = p;
        h->cap_new_timers = cap;
    }
    h->new_timers[h->n_new_timers++] = (struct ddb_timer){
        .due = now_ms() + (delay_ms > 0 ? (double)delay_ms : 0), .fn = fn, .ud = ud};
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
    return 0;
}

int ddb_http_on_io_thread(struct ddb_http *h)
{
    return pthread_equal(pthread_self(), h->thread);
}

void ddb_http_stats(struct ddb_http *h, int *in_flight, int *queued, long *connections_made)
{
    pthread_mutex_lock(&h->lock);
    if (in_flight)
        *in_flight = h->in_flight_shared;
    if (queued)
        *queued = h->queued_shared;
    if (connections_made)
        *connections_made = h->connects_shared;
    pthread_mutex_unlock(&h->lock);
}

void ddb_http_req_cleanup(struct ddb_http_req *r)
{
    buf_cleanup(&r->response);
}

static int t_submit(void *impl, struct ddb_http_req *r)
{
    return ddb_http_submit(impl, r);
}
static int t_timer(void *impl, long delay_ms, ddb_timer_fn *fn, void *ud)
{
    return ddb_http_timer(impl, delay_ms, fn, ud);
}
static int t_on_io(void *impl)
{
    return ddb_http_on_io_thread(impl);
}

struct ddb_transport ddb_http_transport(struct ddb_http *h)
{
    return (struct ddb_transport){
        .impl = h, .submit = t_submit, .timer = t_timer, .on_io_thread = t_on_io};
}
