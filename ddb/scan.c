/* One segment of a parallel Scan, as a state machine on the I/O thread:
 *
 *   step:   choose Limit and estimate the cost -> take it from the bucket (or wait as a timer)
 *           -> send Scan
 *   answer: settle the estimate with ConsumedCapacity -> hand the page over -> step again from
 *           LastEvaluatedKey, or end
 *
 * An answer is never held in memory while it arrives: curl's bytes go to the scan's spill file
 * (an unnamed file), which is mapped only while the page is read and handed over, on a worker. So
 * the answers in memory at once are at most the workers', however many scans run.
 */
#include "ddb/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/log.h"
#include "ddb/retry.h"

/* Before the first page, assume large items so that the first request cannot overshoot. */
#define FIRST_ITEM_SIZE 4096.0
#define RCU_BYTES 4096.0
#define BAD_PAGES_MAX 8 /* with workers: cut-short answers in a row before the scan fails */

struct ddb_scan {
    struct ddb_client *c;
    char *table;
    unsigned segment, total;
    int consistent;
    struct ddb_throttle *th;
    int fixed_limit;
    ddb_scan_page_fn *page;
    ddb_scan_done_fn *done;
    void *ud;

    json_t *start_key;           /* ExclusiveStartKey of the next request, new reference or NULL */
    struct ddb_workers *workers; /* borrowed, or NULL: pages are read on the I/O thread */
    int bad_pages;               /* with workers: answers in a row that were not JSON */
    /* The answer of the request in flight, as it arrives (I/O thread), then read (worker). The
     * next request is sent only once the page has been read, so the two never overlap. */
    int spill_fd;
    size_t spilled;  /* bytes of the answer in the file */
    int spill_errno; /* a write failed (EFBIG: the answer is over DDB_RESPONSE_MAX) */
    double estimate;             /* taken from the bucket for the request in flight */
    atomic_int cancel;

    pthread_mutex_t lock; /* stats, read from other threads */
    struct ddb_scan_stats stats;
};

static double factor(const struct ddb_scan *s)
{
    return s->consistent ? 1.0 : 0.5;
}

static void finish(struct ddb_scan *s, const struct ddb_error *err)
{
    struct ddb_error ok;
    if (!err) {
        ddb_error_clear(&ok);
        err = &ok;
    }
    s->done(err, s->ud);
}

static void step(void *ud);

static void stopped(struct ddb_scan *s)
{
    struct ddb_error e;
    ddb_error_clear(&e);
    ddb_error_set(&e, DDB_ECANCELED, "scan of %s segment %u of %u: stopped", s->table, s->segment,
                  s->total);
    finish(s, &e);
}

static void protocol_error(struct ddb_scan *s, const char *why)
{
    struct ddb_error e;
    ddb_error_clear(&e);
    ddb_error_set(&e, DDB_EPROTOCOL, "scan of %s segment %u of %u: %s", s->table, s->segment,
                  s->total, why);
    finish(s, &e);
}

/* A local file failed (errno e): the scan ends, DDB_ELOCAL (DDB_EPROTOCOL for an answer over
 * DDB_RESPONSE_MAX). */
static void local_error(struct ddb_scan *s, int e, const char *what)
{
    struct ddb_error err;
    char eb[128];
    ddb_error_clear(&err);
    if (s->th)
        ddb_throttle_refund(s->th, s->estimate);
    if (e == EFBIG)
        ddb_error_set(&err, DDB_EPROTOCOL, "scan of %s segment %u of %u: an answer larger than %u "
                      "bytes", s->table, s->segment, s->total, (unsigned)DDB_RESPONSE_MAX);
    else
        ddb_error_set(&err, DDB_ELOCAL, "scan of %s segment %u of %u: %s: %s", s->table,
                      s->segment, s->total, what, strerror_r(e, eb, sizeof eb));
    finish(s, &err);
}

/* The answer's bytes: checked and read in place (ddb/page.h), never made into a tree, then handed
 * to the page callback. Returns 1 when the scan goes on from s->start_key, 0 when it has ended
 * (finish ran), -1 when the answer is not JSON (cut short: to be fetched again; nothing done). */
static int read_page(struct ddb_scan *s, struct ddb_page *pg, const char *body, size_t len,
                     char *why, size_t whylen)
{
    enum ddb_page_err pe = ddb_page_parse(pg, body, len, why, whylen);
    if (pe == DDB_PAGE_ESYNTAX)
        return -1;
    if (pe != DDB_PAGE_OK) {
        if (s->th)
            ddb_throttle_refund(s->th, s->estimate);
        protocol_error(s, why);
        return 0;
    }
    json_t *next = NULL;
    if (pg->lek_len) {
        json_error_t je;
        next = json_loadb(body + pg->lek_off, pg->lek_len, 0, &je);
        if (!next) {
            if (s->th)
                ddb_throttle_refund(s->th, s->estimate);
            protocol_error(s, "out of memory reading LastEvaluatedKey");
            return 0;
        }
    }
    size_t n = pg->n_items;
    double consumed = pg->consumed >= 0 ? pg->consumed : s->estimate;
    if (s->th) {
        ddb_throttle_settle(s->th, s->estimate, consumed);
        if (n > 0 && consumed > 0)
            ddb_throttle_observe_item_size(s->th, consumed / factor(s) * RCU_BYTES / (double)n);
    }
    pthread_mutex_lock(&s->lock);
    s->stats.pages++;
    s->stats.items += (long)n;
    s->stats.consumed += consumed;
    s->stats.bytes += consumed / factor(s) * RCU_BYTES;
    pthread_mutex_unlock(&s->lock);

    struct ddb_scan_page page = {.body = body, .items = pg->items, .n_items = n};
    int stop = s->page(&page, s->ud);
    json_decref(s->start_key);
    s->start_key = next;
    if (stop || atomic_load(&s->cancel)) {
        stopped(s);
        return 0;
    }
    if (!s->start_key) {
        finish(s, NULL);
        return 0;
    }
    return 1;
}

/* The answer in the spill file, mapped for read_page (returns as read_page does). */
static int read_spilled(struct ddb_scan *s, char *why, size_t whylen)
{
    /* page.c wants a NUL byte after the body: the file has one after the answer. */
    size_t len = s->spilled, maplen = len + 1;
    ssize_t w;
    do
        w = pwrite(s->spill_fd, "", 1, (off_t)len);
    while (w < 0 && errno == EINTR);
    if (w != 1) {
        local_error(s, w < 0 ? errno : EIO, "cannot write to the answer's spill file");
        return 0;
    }
    void *m = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->spill_fd, 0);
    if (m == MAP_FAILED) {
        local_error(s, errno, "cannot map the answer's spill file");
        return 0;
    }
    /* The span array lives as long as the page: held by the few readers at work, not by every
     * scan (a 1 MB page has thousands of items). */
    struct ddb_page pg;
    ddb_page_init(&pg);
    int rc = read_page(s, &pg, (const char *)m, len, why, whylen);
    ddb_page_cleanup(&pg);
    munmap(m, maplen); /* neither is s's: once the page ends the scan, s may be freed */
    return rc;
}

/* On a worker: the answer that the I/O thread spilled. The client has taken the answer already,
 * so a cut-short one is fetched again here (a new request from the same key, after a backoff). */
static void work_page(void *ud)
{
    struct ddb_scan *s = ud;
    struct ddb_client *c = s->c;
    char why[256] = "";
    int rc = read_spilled(s, why, sizeof why);
    if (rc == 0)
        return; /* ended: s may be freed already */
    if (rc > 0) {
        s->bad_pages = 0;
    } else {
        if (s->th)
            ddb_throttle_refund(s->th, s->estimate);
        if (++s->bad_pages > BAD_PAGES_MAX) {
            char msg[400];
            snprintf(msg, sizeof msg, "the answer is not valid (%s; %d times)", why, s->bad_pages);
            protocol_error(s, msg);
            return;
        }
        log_debug("scan of %s segment %u of %u: the answer is not valid (%s): fetched again",
                  s->table, s->segment, s->total, why);
    }
    long delay =
        rc < 0 ? ddb_backoff_delay_ms(ddb_client_backoff(c), s->bad_pages - 1, ddb_retry_random())
               : 0;
    if (ddb_client_timer(c, delay, step, s) != 0) {
        struct ddb_error e;
        ddb_error_clear(&e);
        ddb_error_set(&e, DDB_ECANCELED, "scan of %s: canceled (shutting down)", s->table);
        finish(s, &e);
    }
}

/* On the I/O thread: each attempt's answer goes to the spill file from its first byte as it
 * arrives. */
static void spill_begin(void *ud)
{
    struct ddb_scan *s = ud;
    s->spilled = 0;
    s->spill_errno = 0;
}

static void spill_bytes(const char *p, size_t n, void *ud)
{
    struct ddb_scan *s = ud;
    if (s->spill_errno)
        return;
    if (n > DDB_RESPONSE_MAX - s->spilled) {
        s->spill_errno = EFBIG;
        return;
    }
    while (n) {
        ssize_t w = pwrite(s->spill_fd, p, n, (off_t)s->spilled);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->spill_errno = w < 0 ? errno : EIO;
            return;
        }
        p += w;
        n -= (size_t)w;
        s->spilled += (size_t)w;
    }
}

/* An unnamed 0600 file in dir, or -1 with err filled. */
static int spill_open(const char *dir, struct ddb_error *err)
{
    if (!dir) {
        dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        /* No O_TMPFILE on this filesystem: a named file, unlinked at once. */
        char path[4096];
        snprintf(path, sizeof path, "%s/.ddbfs-scan.XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
    }
    if (fd < 0) {
        char eb[128];
        ddb_error_set(err, DDB_ELOCAL, "scan: cannot make a spill file in %s: %s", dir,
                      strerror_r(errno, eb, sizeof eb));
    }
    return fd;
}

/* The client's answer (its bytes in the spill file), on the I/O thread. With workers the page is
 * read there, so that the I/O thread goes back to moving bytes; else here, and a cut-short answer
 * (-1) is retried by the client. */
static int on_page(const struct ddb_error *err, char *why, size_t whylen, void *ud)
{
    struct ddb_scan *s = ud;
    if (err) {
        /* A failed request consumed nothing we can count on: give the estimate back. */
        if (s->th)
            ddb_throttle_refund(s->th, s->estimate);
        struct ddb_error e = *err;
        char msg[DDB_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", e.message);
        snprintf(e.message, sizeof e.message, "scan of %s segment %u of %u: %s", s->table,
                 s->segment, s->total, msg);
        finish(s, &e);
        return 0;
    }
    if (s->spill_errno) {
        local_error(s, s->spill_errno, "cannot write the answer to its spill file");
        return 0;
    }
    if (s->workers && ddb_workers_submit(s->workers, work_page, s) == 0)
        return 0;
    /* No workers, or they are stopping: read it here. */
    int rc = read_spilled(s, why, whylen);
    if (rc < 0)
        return -1;
    if (rc > 0)
        step(s);
    return 0;
}

json_t *ddb_scan_page_item(const struct ddb_scan_page *page, size_t i)
{
    json_error_t je;
    return json_loadb(page->body + page->items[i].off, page->items[i].len, 0, &je);
}

static void step(void *ud)
{
    struct ddb_scan *s = ud;
    struct ddb_error e;
    ddb_error_clear(&e);
    if (atomic_load(&s->cancel)) {
        ddb_error_set(&e, DDB_ECANCELED, "scan of %s segment %u of %u: stopped", s->table,
                      s->segment, s->total);
        finish(s, &e);
        return;
    }
    long limit = s->fixed_limit;
    s->estimate = 0;
    if (s->th) {
        double item = ddb_throttle_item_size(s->th, FIRST_ITEM_SIZE);
        double per_item = item / RCU_BYTES * factor(s);
        double max_page = (double)DDB_SCAN_PAGE_MAX / RCU_BYTES * factor(s);
        double want = ddb_throttle_request_cost(s->th, per_item);
        /* A budget that a whole page fits in needs no Limit: DynamoDB stops a page at 1 MB, and
         * a Limit from an item size not yet known would only cut the first pages short. */
        if (!limit && want < max_page) {
            double l = floor(want / per_item);
            limit = l < 1 ? 1 : l > 1e6 ? 1000000 : (long)l;
        }
        s->estimate = limit ? fmax(factor(s), fmin((double)limit * per_item, max_page)) : max_page;
        double wait = ddb_throttle_take(s->th, ddb_client_now(s->c), s->estimate);
        if (wait > 0) {
            long ms = (long)ceil(wait * 1000.0);
            if (ddb_client_timer(s->c, ms < 1 ? 1 : ms, step, s) != 0) {
                ddb_error_set(&e, DDB_ECANCELED, "scan of %s: canceled (shutting down)", s->table);
                finish(s, &e);
            }
            return;
        }
    }
    json_t *req = json_pack("{s:s, s:s}", "TableName", s->table, "ReturnConsumedCapacity", "TOTAL");
    if (s->total > 1) {
        json_object_set_new(req, "Segment", json_integer(s->segment));
        json_object_set_new(req, "TotalSegments", json_integer(s->total));
    }
    if (limit > 0)
        json_object_set_new(req, "Limit", json_integer(limit));
    if (s->consistent)
        json_object_set_new(req, "ConsistentRead", json_true());
    if (s->start_key)
        json_object_set(req, "ExclusiveStartKey", s->start_key);
    struct ddb_client_stream st = {.begin = spill_begin, .bytes = spill_bytes};
    if (ddb_client_call_stream(s->c, "Scan", req, &st, on_page, s, &e) != 0) {
        if (s->th)
            ddb_throttle_refund(s->th, s->estimate);
        finish(s, &e);
    }
    json_decref(req);
}

struct ddb_scan *ddb_scan_start(struct ddb_client *c, const struct ddb_scan_opts *opts,
                                ddb_scan_page_fn *page, ddb_scan_done_fn *done, void *ud,
                                struct ddb_error *err)
{
    if (!opts->table || opts->total_segments < 1 || opts->total_segments > DDB_SEGMENTS_MAX ||
        opts->segment >= opts->total_segments) {
        ddb_error_set(err, DDB_EINVAL, "scan: segment %u of %u is not valid", opts->segment,
                      opts->total_segments);
        return NULL;
    }
    struct ddb_scan *s = calloc(1, sizeof *s);
    if (!s || !(s->table = strdup(opts->table))) {
        free(s);
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return NULL;
    }
    s->c = c;
    s->segment = opts->segment;
    s->total = opts->total_segments;
    s->consistent = opts->consistent_read;
    s->th = opts->throttle;
    s->fixed_limit = opts->limit > 0 ? opts->limit : 0;
    s->page = page;
    s->done = done;
    s->ud = ud;
    atomic_init(&s->cancel, 0);
    pthread_mutex_init(&s->lock, NULL);
    s->workers = opts->workers;
    if ((s->spill_fd = spill_open(opts->spill_dir, err)) < 0) {
        pthread_mutex_destroy(&s->lock);
        free(s->table);
        free(s);
        return NULL;
    }
    /* Everything after this runs on the I/O thread. */
    if (ddb_client_timer(c, 0, step, s) != 0) {
        ddb_error_set(err, DDB_ECANCELED, "scan of %s: the client is shutting down", s->table);
        ddb_scan_free(s);
        return NULL;
    }
    return s;
}

void ddb_scan_cancel(struct ddb_scan *s)
{
    atomic_store(&s->cancel, 1);
}

void ddb_scan_get_stats(struct ddb_scan *s, struct ddb_scan_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

void ddb_scan_free(struct ddb_scan *s)
{
    if (!s)
        return;
    json_decref(s->start_key);
    close(s->spill_fd);
    pthread_mutex_destroy(&s->lock);
    free(s->table);
    free(s);
}

struct run {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    struct ddb_error err;
    ddb_scan_page_fn *page;
    void *ud;
};

static int run_page(const struct ddb_scan_page *page, void *ud)
{
    struct run *r = ud;
    return r->page(page, r->ud);
}

static void run_done(const struct ddb_error *err, void *ud)
{
    struct run *r = ud;
    pthread_mutex_lock(&r->lock);
    r->err = *err;
    r->done = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

int ddb_scan_run(struct ddb_client *c, const struct ddb_scan_opts *opts, ddb_scan_page_fn *page,
                 void *ud, struct ddb_scan_stats *stats, struct ddb_error *err)
{
    struct run r = {.done = 0, .page = page, .ud = ud};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    int rc = -1;
    struct ddb_scan *s = ddb_scan_start(c, opts, run_page, run_done, &r, err);
    if (!s)
        goto out;
    pthread_mutex_lock(&r.lock);
    while (!r.done)
        pthread_cond_wait(&r.cond, &r.lock);
    pthread_mutex_unlock(&r.lock);
    if (stats)
        ddb_scan_get_stats(s, stats);
    ddb_scan_free(s);
    if (r.err.code != DDB_OK) {
        if (err)
            *err = r.err;
        goto out;
    }
    rc = 0;
out:
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
    return rc;
}
