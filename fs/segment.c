/* Segment snapshots: a background Scan of segment i of N writes `{"Item":{...}}` lines (gzipped
 * for format=json.gz) into a cache entry, which becomes complete (exact size, fixed mtime) when the
 * scan ends. The page and done callbacks run on a page worker (fs->workers), or on the I/O thread
 * without them; a segment's pages come one at a time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/limits.h"
#include "base/log.h"
#include "fs/fs.h"

#define GZ_CHUNK (256u << 10)

void fs_segment_key(const struct fs_table *t, unsigned i, char *out, size_t len)
{
    char name[96];
    fs_segment_name(t, i, name, sizeof name);
    snprintf(out, len, "%s/%s", t->name, name);
}

/* Appends served bytes to the snapshot, counted and checksummed (progress.c). */
static enum cache_err append(struct fs_segment *s, const void *p, size_t n, char *msg,
                             size_t msglen)
{
    enum cache_err ce = cache_entry_append(s->filling, p, n, msg, msglen);
    if (ce == CACHE_OK)
        fs_progress_fill_bytes(s, p, n);
    return ce;
}

/* Appends p (deflated when gz) to the snapshot. */
static enum cache_err store(struct fs_segment *s, const void *p, size_t n, int finish, char *msg,
                            size_t msglen)
{
    z_stream *z = s->gz;
    if (!z)
        return n ? append(s, p, n, msg, msglen) : CACHE_OK;
    unsigned char chunk[GZ_CHUNK];
    z->next_in = (unsigned char *)p;
    z->avail_in = (uInt)n;
    for (;;) {
        z->next_out = chunk;
        z->avail_out = sizeof chunk;
        int zr = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR) {
            snprintf(msg, msglen, "gzip failed");
            return CACHE_EIO;
        }
        size_t have = sizeof chunk - z->avail_out;
        if (have) {
            enum cache_err ce = append(s, chunk, have, msg, msglen);
            if (ce)
                return ce;
        }
        if (finish ? zr == Z_STREAM_END : z->avail_in == 0 && z->avail_out != 0)
            return CACHE_OK;
    }
}

static void gz_end(struct fs_segment *s)
{
    if (s->gz) {
        deflateEnd(s->gz);
        free(s->gz);
        s->gz = NULL;
    }
}

static void kick(struct fs_table *t);

/* The scan filling s. start_fill holds the table's lock from ddb_scan_start until it has stored
 * the pointer, and a fast scan can call back before that: taking the lock waits for it. */
static struct ddb_scan *scan_of(struct fs_segment *s)
{
    pthread_mutex_lock(&s->t->lock);
    struct ddb_scan *scan = s->scan;
    pthread_mutex_unlock(&s->t->lock);
    return scan;
}

/* Records why the snapshot failed. Not logged here: whoever waits for the snapshot gets the
 * message and logs it once, where the error becomes an errno (a failure nobody waits for, such as
 * a scan stopped at unmount, is only a debug line). */
static void set_failed(struct fs_segment *s, enum cache_err ce, const char *why)
{
    s->failed = ce;
    free(s->fail_msg);
    if (asprintf(&s->fail_msg, "export of %s segment %u of %u: %s", s->t->name, s->index,
                 s->t->nseg, why) < 0)
        s->fail_msg = NULL;
}

/* The page's lines, in the native export's shape ({"Item":...}\n, the item's bytes as DynamoDB
 * sent them), stored through s->out in pieces of at most LINES_CHUNK so that a segment's buffer
 * stays small however large the page. */
#define LINES_CHUNK (64u << 10)
static enum cache_err page_lines(struct fs_segment *s, const struct ddb_scan_page *page, char *msg,
                                 size_t msglen)
{
    static const char head[] = "{\"Item\":", tail[] = "}\n";
    buf_reset(&s->out);
    for (size_t i = 0; i < page->n_items; i++) {
        const struct ddb_page_span *sp = &page->items[i];
        size_t need = sizeof head - 1 + sp->len + sizeof tail - 1;
        if (s->out.len && s->out.len + need > LINES_CHUNK) {
            enum cache_err ce = store(s, s->out.data, s->out.len, 0, msg, msglen);
            if (ce)
                return ce;
            buf_reset(&s->out);
        }
        if (buf_reserve(&s->out, need) != BUF_OK) {
            snprintf(msg, msglen, "an item of %zu bytes does not fit in memory", sp->len);
            return CACHE_ENOMEM;
        }
        char *o = s->out.data + s->out.len;
        memcpy(o, head, sizeof head - 1);
        o += sizeof head - 1;
        o += ddb_page_item_copy(page->body, sp, o);
        memcpy(o, tail, sizeof tail - 1);
        o += sizeof tail - 1;
        s->out.len = (size_t)(o - s->out.data);
        s->out.data[s->out.len] = '\0';
    }
    return s->out.len ? store(s, s->out.data, s->out.len, 0, msg, msglen) : CACHE_OK;
}

static int on_page(const struct ddb_scan_page *page, void *ud)
{
    struct fs_segment *s = ud;
    struct fs_table *t = s->t;
    char msg[DDB_ERRMSG_MAX] = "";
    enum cache_err ce = page_lines(s, page, msg, sizeof msg);
    /* Its lines are stored: the buffer goes back, so that memory follows the pages being read,
     * not the segments being scanned. */
    buf_cleanup(&s->out);
    buf_init(&s->out, DDB_RESPONSE_MAX);
    if (ce != CACHE_OK) {
        set_failed(s, ce, msg);
        return 1;
    }
    struct ddb_scan_stats ps;
    ddb_scan_get_stats(scan_of(s), &ps);
    fs_progress_fill_page(s, page->n_items, ps.consumed);
    if (t->fs->opts.log_throttle) {
        struct ddb_scan_stats st;
        ddb_scan_get_stats(scan_of(s), &st);
        log_info("throttle: table=%s segment=%u/%u consumed=%.1f t=%.3f items=%zu", t->name,
                 s->index, t->nseg, st.consumed - s->consumed, ddb_client_now(t->fs->client),
                 page->n_items);
        s->consumed = st.consumed;
    }
    return 0;
}

static void on_done(const struct ddb_error *err, void *ud)
{
    struct fs_segment *s = ud;
    struct fs_table *t = s->t;
    char msg[DDB_ERRMSG_MAX] = "";
    struct ddb_scan *scan = scan_of(s);
    struct ddb_scan_stats st;
    ddb_scan_get_stats(scan, &st);
    if (err->code == DDB_OK && !s->failed) {
        enum cache_err ce = store(s, NULL, 0, 1, msg, sizeof msg);
        if (!ce)
            ce = cache_entry_commit_at(s->filling, fs_progress_fill_mtime(s), msg, sizeof msg);
        if (ce)
            set_failed(s, ce, msg);
        else
            log_debug("export of %s segment %u of %u: %ld items, %.1f RCU", t->name, s->index,
                      t->nseg, st.items, st.consumed);
    } else if (!s->failed) {
        /* DynamoDB's words, with the request id when there is one. */
        snprintf(msg, sizeof msg, "%s%s%s%s", err->message, err->request_id[0] ? " (request " : "",
                 err->request_id, err->request_id[0] ? ")" : "");
        set_failed(s, CACHE_EFAILED, msg);
    }
    if (s->failed) {
        const char *why = s->fail_msg ? s->fail_msg : "export failed";
        log_debug("%s", why);
        cache_entry_fail(s->filling, (enum cache_err)s->failed, why);
    }
    fs_progress_fill_end(s, s->filling, !s->failed);
    free(s->fail_msg);
    s->fail_msg = NULL;
    s->consumed = 0;
    gz_end(s);
    buf_cleanup(&s->out);
    buf_init(&s->out, DDB_RESPONSE_MAX);
    cache_entry_release(s->filling);
    ddb_scan_free(scan);
    pthread_mutex_lock(&t->lock);
    s->filling = NULL;
    s->scan = NULL;
    s->running = 0;
    t->running--;
    pthread_mutex_unlock(&t->lock);
    kick(t);
}

/* Starts filling e (the caller hands its reference over). */
static void start_fill(struct fs_table *t, unsigned i, struct cache_entry *e)
{
    struct fs *fs = t->fs;
    struct fs_segment *s = &t->segs[i];
    char msg[DDB_ERRMSG_MAX];
    pthread_mutex_lock(&t->lock);
    s->queued = 0;
    s->running = 1;
    s->failed = 0;
    s->filling = e;
    t->running++;
    fs_progress_fill_start(s);
    if (fs->opts.format == FS_FORMAT_JSON_GZ) {
        s->gz = calloc(1, sizeof(z_stream));
        if (!s->gz || deflateInit2(s->gz, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(s->gz);
            s->gz = NULL;
            s->failed = CACHE_ENOMEM;
        }
    }
    struct ddb_scan_opts so = {
        .table = t->name,
        .segment = i,
        .total_segments = t->nseg,
        .consistent_read = fs->opts.consistent_read,
        .throttle = &t->read_bucket,
        .workers = fs->workers,
        .spill_dir = fs->cache_dir,
    };
    struct ddb_error err;
    ddb_error_clear(&err);
    if (!s->failed)
        s->scan = ddb_scan_start(fs->client, &so, on_page, on_done, s, &err);
    int started = s->scan != NULL; /* once unlocked, on_done may run and clear s->scan */
    pthread_mutex_unlock(&t->lock);
    if (started)
        return;
    /* It never started: fail the snapshot so that waiters get the reason. */
    if (s->failed)
        snprintf(msg, sizeof msg, "out of memory starting gzip");
    else
        snprintf(msg, sizeof msg, "%s", err.message);
    log_error("export of %s segment %u of %u: %s", t->name, i, t->nseg, msg);
    cache_entry_fail(e, s->failed ? CACHE_ENOMEM : CACHE_EFAILED, msg);
    cache_entry_release(e);
    gz_end(s);
    pthread_mutex_lock(&t->lock);
    s->filling = NULL;
    s->running = 0;
    t->running--;
    pthread_mutex_unlock(&t->lock);
}

/* Starts queued segments while there are free scan slots. */
static void kick(struct fs_table *t)
{
    struct fs *fs = t->fs;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        long next = -1;
        if (t->running < t->parallel)
            for (unsigned i = 0; i < t->nseg && next < 0; i++)
                if (t->segs[i].queued && !t->segs[i].running)
                    next = i;
        if (next >= 0)
            t->segs[next].queued = 0;
        pthread_mutex_unlock(&t->lock);
        if (next < 0)
            return;
        char key[1024];
        fs_segment_key(t, (unsigned)next, key, sizeof key);
        int created = 0;
        enum cache_err ce;
        struct cache_entry *e = cache_entry_acquire(fs->cache, key, &created, &ce);
        if (!e) {
            log_error("export of %s segment %ld: %s", t->name, next, cache_strerror(ce));
            continue;
        }
        if (created)
            start_fill(t, (unsigned)next, e);
        else
            cache_entry_release(e);
    }
}

void fs_table_prefetch(struct fs_table *t)
{
    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < t->nseg; i++)
        if (!t->segs[i].running && fs_opts_shard_owns(&t->fs->opts, i))
            t->segs[i].queued = 1;
    pthread_mutex_unlock(&t->lock);
    kick(t);
}

struct cache_entry *fs_segment_acquire(struct fs_table *t, unsigned i, int *rc)
{
    struct fs *fs = t->fs;
    char key[1024];
    fs_segment_key(t, i, key, sizeof key);
    int created = 0;
    enum cache_err ce;
    struct cache_entry *e = cache_entry_acquire(fs->cache, key, &created, &ce);
    if (!e) {
        *rc = fs_errno_from_cache(ce, NULL, key);
        return NULL;
    }
    if (!created)
        return e;
    /* The filler keeps the reference acquire gave; the caller gets its own. */
    struct cache_entry *mine = cache_entry_retain(e);
    start_fill(t, i, e);
    return mine;
}

int fs_segment_wait(struct fs_table *t, unsigned i, struct cache_entry *e, uint64_t *size,
                    time_t *mtime)
{
    char msg[DDB_ERRMSG_MAX] = "";
    enum cache_err ce = cache_entry_wait(e, 0, size, mtime, msg, sizeof msg);
    if (ce == CACHE_OK)
        return 0;
    char ctx[1024];
    fs_segment_key(t, i, ctx, sizeof ctx);
    return fs_errno_from_cache(ce, msg, ctx);
}

void fs_segments_stop(struct fs *fs)
{
    pthread_mutex_lock(&fs->lock);
    for (size_t k = 0; k < fs->ntables; k++) {
        struct fs_table *t = fs->tables[k];
        pthread_mutex_lock(&t->lock);
        for (unsigned i = 0; i < t->nseg; i++) {
            t->segs[i].queued = 0;
            if (t->segs[i].scan)
                ddb_scan_cancel(t->segs[i].scan);
        }
        pthread_mutex_unlock(&t->lock);
    }
    pthread_mutex_unlock(&fs->lock);
}
