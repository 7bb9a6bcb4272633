/* Progress counters, digests and the user.ddbfs.* extended attributes: see fs/progress.h. */
#include "fs/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/clock.h"
#include "base/log.h"
#include "fs/fs.h"

#define DIGEST_READ_CHUNK (1u << 20)

/* ---- digests kept across mounts: <cache_dir>/digests/<table>, "name sha mtime items bytes" ----
 */

static int digests_path(struct fs_table *t, char *out, size_t len, int mkdirs)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/digests", t->fs->cache_dir);
    if (mkdirs && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return snprintf(out, len, "%s/%s", dir, t->name) < (int)len ? 0 : -1;
}

static int unhex(const char *p, unsigned char out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = p[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Under t->lock, t described: loads the kept digests once. */
static void digests_load(struct fs_table *t)
{
    if (t->prog.digests_loaded || !t->segs)
        return;
    t->prog.digests_loaded = 1;
    char path[4200];
    if (digests_path(t, path, sizeof path, 0) != 0)
        return;
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[1024], name[512], hex[65];
    long long mtime;
    long items;
    uint64_t bytes;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%511s %64s %lld %ld %" SCNu64, name, hex, &mtime, &items, &bytes) != 5)
            continue;
        long i = fs_segment_parse(t, name);
        struct fs_digest d = {1, items, bytes, (time_t)mtime, {0}};
        if (i < 0 || strlen(hex) != 64 || unhex(hex, d.sha) != 0)
            continue;
        t->segs[i].prog.digest = d;
    }
    fclose(f);
}

/* Under t->lock: writes the kept digests (atomically: a temp file renamed into place). */
static void digests_save(struct fs_table *t)
{
    char path[4200], tmp[4300];
    if (digests_path(t, path, sizeof path, 1) != 0)
        return;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        log_debug("cannot write %s", tmp);
        return;
    }
    for (unsigned i = 0; i < t->nseg; i++) {
        const struct fs_digest *d = &t->segs[i].prog.digest;
        if (!d->valid)
            continue;
        char name[96], hex[65];
        fs_segment_name(t, i, name, sizeof name);
        fs_sha256_hex(d->sha, hex);
        fprintf(f, "%s %s %lld %ld %" PRIu64 "\n", name, hex, (long long)d->mtime, d->items,
                d->bytes);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        log_debug("cannot write %s", path);
        unlink(tmp);
    }
}

/* ---- filling (I/O thread) ---- */

void fs_progress_fill_start(struct fs_segment *s)
{
    struct fs_seg_progress *p = &s->prog;
    p->items = 0;
    p->bytes = 0;
    p->consumed = 0;
    p->started = clock_mono();
    fs_rate_init(&p->rate);
    fs_rate_add(&p->rate, p->started, 0, 0);
    digests_load(s->t);
    if (p->sha)
        EVP_MD_CTX_free(p->sha);
    p->sha = EVP_MD_CTX_new();
    if (p->sha && EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(p->sha);
        p->sha = NULL;
    }
}

void fs_progress_fill_bytes(struct fs_segment *s, const void *data, size_t n)
{
    if (s->prog.sha)
        EVP_DigestUpdate(s->prog.sha, data, n);
    pthread_mutex_lock(&s->t->lock);
    s->prog.bytes += n;
    s->t->prog.scanned_bytes += (double)n;
    pthread_mutex_unlock(&s->t->lock);
}

/* The table at a glance, for the xattrs, the log and the status command. */
struct summary {
    int described, restoring;
    unsigned nseg, idle, queued, scanning, done, failed;
    long items;
    double bytes, consumed;
    double items_s, bytes_s;
    double expected; /* items, <= 0: unknown */
    double eta;      /* seconds, -1: unknown */
    long files, written, rejected, rexpected;
    double wcu;
    double w_items_s;
    char verified[512];
};

static const char *state_name[] = {"idle", "queued", "scanning", "done", "failed"};

/* One segment's state without waiting: its counters, and what the cache holds for it. */
struct seg_view {
    enum fs_seg_state state;
    long items; /* -1: unknown */
    uint64_t bytes;
    double consumed, items_s, bytes_s;
    int have_sha;
    unsigned char sha[32];
};

static void seg_view(struct fs_table *t, unsigned i, double now, struct seg_view *v)
{
    struct fs_segment *s = &t->segs[i];
    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&t->lock);
    digests_load(t);
    int running = s->running, queued = s->queued;
    struct fs_digest d = s->prog.digest;
    v->items = s->prog.items;
    v->bytes = s->prog.bytes;
    v->consumed = s->prog.consumed;
    if (running)
        fs_rate_get(&s->prog.rate, now, &v->items_s, &v->bytes_s);
    pthread_mutex_unlock(&t->lock);
    if (running) {
        v->state = FS_SEG_SCANNING;
        return;
    }
    if (queued) {
        v->state = FS_SEG_QUEUED;
        v->items = 0;
        v->bytes = 0;
        return;
    }
    char key[1024];
    fs_segment_key(t, i, key, sizeof key);
    struct cache_entry *e = cache_entry_peek(t->fs->cache, key);
    uint64_t size = 0;
    enum cache_state cs = e ? cache_entry_state(e, &size) : CACHE_FAILED;
    time_t mtime = 0;
    if (e && cs == CACHE_COMPLETE)
        cache_entry_wait(e, 0, &size, &mtime, NULL, 0); /* complete: returns at once */
    cache_entry_release(e);
    if (!e) {
        v->state = FS_SEG_IDLE;
        v->items = 0;
        v->bytes = 0;
    } else if (cs == CACHE_FAILED) {
        v->state = FS_SEG_FAILED;
    } else if (cs == CACHE_FILLING) {
        v->state = FS_SEG_SCANNING;
    } else {
        v->state = FS_SEG_DONE;
        v->bytes = size;
        if (d.valid && d.bytes == size && d.mtime == mtime) {
            v->items = d.items;
            v->have_sha = 1;
            memcpy(v->sha, d.sha, 32);
        } else {
            v->items = -1;
        }
    }
}

static void summarize(struct fs_table *t, struct summary *m)
{
    memset(m, 0, sizeof *m);
    m->eta = -1;
    double now = clock_mono();
    pthread_mutex_lock(&t->lock);
    m->described = t->described;
    /* Between two files of a cp -r, no upload is open: a restore lasts until FS_WRITTEN_TTL_S
     * after its last close, as the table directory's listing does. */
    m->restoring =
        t->uploads > 0 || (t->last_upload > 0 && now - t->last_upload < FS_WRITTEN_TTL_S);
    m->nseg = t->described ? t->nseg : 0;
    fs_rate_get(&t->prog.rate, now, &m->items_s, &m->bytes_s);
    double w_bytes_s;
    fs_rate_get(&t->prog.wrate, now, &m->w_items_s, &w_bytes_s);
    m->files = t->prog.files;
    m->written = t->prog.written;
    m->rejected = t->prog.rejected;
    m->rexpected = t->prog.expected;
    m->wcu = t->prog.consumed_wcu;
    snprintf(m->verified, sizeof m->verified, "%s", t->prog.verified ? t->prog.verified : "none");
    double expected = t->described ? (double)t->info.item_count : 0;
    double size = t->described ? (double)t->info.size_bytes : 0;
    double budget = t->read_budget;
    int consistent = t->fs->opts.consistent_read;
    pthread_mutex_unlock(&t->lock);
    for (unsigned i = 0; i < m->nseg; i++) {
        struct seg_view v;
        seg_view(t, i, now, &v);
        switch (v.state) {
        case FS_SEG_IDLE:
            m->idle++;
            break;
        case FS_SEG_QUEUED:
            m->queued++;
            break;
        case FS_SEG_SCANNING:
            m->scanning++;
            break;
        case FS_SEG_DONE:
            m->done++;
            break;
        case FS_SEG_FAILED:
            m->failed++;
            break;
        }
        if (v.items > 0)
            m->items += v.items;
        m->bytes += (double)v.bytes;
        m->consumed += v.consumed;
    }
    m->expected = expected;
    if (!m->scanning)
        m->items_s = m->bytes_s = 0; /* nothing is moving: no rate (the window would lag) */
    if (m->nseg && m->done == m->nseg)
        m->eta = 0;
    else if (m->scanning || m->queued)
        m->eta =
            fs_eta_seconds(expected, (double)m->items, m->items_s,
                           expected > 0 ? size / expected : 0, budget, consistent ? 4096 : 8192);
}

static const char *table_state(const struct summary *m)
{
    if (m->restoring)
        return "restoring";
    if (m->scanning)
        return "scanning";
    if (m->queued)
        return "queued";
    if (m->failed)
        return "failed";
    if (m->nseg && m->done == m->nseg)
        return "done";
    return "idle";
}

static void log_table(struct fs_table *t, const char *what)
{
    struct summary m;
    summarize(t, &m);
    char b[32], r[32], eta[32];
    if (!strcmp(what, "restore")) {
        log_info("progress: restore into %s: %ld files closed, %ld items written, %ld rejected, "
                 "%.1f items/s",
                 t->name, m.files, m.written, m.rejected, m.w_items_s);
        return;
    }
    log_info("progress: export of %s: %u/%u segments done (%u scanning, %u queued, %u failed), "
             "%ld items, %s, %.1f items/s, %s/s, eta %s",
             t->name, m.done, m.nseg, m.scanning, m.queued, m.failed, m.items,
             fs_bytes_format(m.bytes, b, sizeof b), m.items_s,
             fs_bytes_format(m.bytes_s, r, sizeof r), fs_eta_format(m.eta, eta, sizeof eta));
}

/* A progress line when the table's last one is FS_PROGRESS_LOG_S old. */
static void tick(struct fs_table *t, const char *what, double now)
{
    pthread_mutex_lock(&t->lock);
    int due = t->prog.logged_at == 0 ? (t->prog.logged_at = now, 0)
                                     : now - t->prog.logged_at >= FS_PROGRESS_LOG_S;
    if (due)
        t->prog.logged_at = now;
    pthread_mutex_unlock(&t->lock);
    if (due)
        log_table(t, what);
}

void fs_progress_fill_page(struct fs_segment *s, size_t n, double consumed)
{
    struct fs_table *t = s->t;
    double now = clock_mono();
    pthread_mutex_lock(&t->lock);
    s->prog.items += (long)n;
    s->prog.consumed = consumed;
    fs_rate_add(&s->prog.rate, now, (double)s->prog.items, (double)s->prog.bytes);
    t->prog.scanned_items += (long)n;
    fs_rate_add(&t->prog.rate, now, (double)t->prog.scanned_items, t->prog.scanned_bytes);
    pthread_mutex_unlock(&t->lock);
    tick(t, "export", now);
}

time_t fs_progress_fill_mtime(struct fs_segment *s)
{
    struct fs_seg_progress *p = &s->prog;
    unsigned char sha[32];
    unsigned len = 0;
    if (!p->sha || EVP_DigestFinal_ex(p->sha, sha, &len) != 1 || len != 32) {
        EVP_MD_CTX_free(p->sha);
        p->sha = NULL;
        return 0;
    }
    EVP_MD_CTX_free(p->sha);
    p->sha = NULL;
    pthread_mutex_lock(&s->t->lock);
    struct fs_digest *d = &p->digest;
    time_t keep = d->valid && d->bytes == p->bytes && memcmp(d->sha, sha, 32) == 0 ? d->mtime : 0;
    /* The new snapshot's digest (its mtime is set by fs_progress_fill_end). */
    d->valid = 0;
    d->items = p->items;
    d->bytes = p->bytes;
    memcpy(d->sha, sha, 32);
    pthread_mutex_unlock(&s->t->lock);
    return keep;
}

void fs_progress_fill_end(struct fs_segment *s, struct cache_entry *e, int ok)
{
    struct fs_table *t = s->t;
    if (s->prog.sha) {
        EVP_MD_CTX_free(s->prog.sha);
        s->prog.sha = NULL;
    }
    uint64_t size = 0;
    time_t mtime = 0;
    if (ok && cache_entry_wait(e, 0, &size, &mtime, NULL, 0) != CACHE_OK)
        ok = 0;
    pthread_mutex_lock(&t->lock);
    struct fs_digest *d = &s->prog.digest;
    if (ok && d->bytes == size) {
        d->mtime = mtime;
        d->valid = 1;
        digests_save(t);
    }
    pthread_mutex_unlock(&t->lock);
    if (ok)
        log_debug("export of %s segment %u of %u: sha256 computed, mtime %lld", t->name, s->index,
                  t->nseg, (long long)mtime);
}

/* ---- digests on demand ---- */

int fs_progress_digest(struct fs_table *t, unsigned i, struct cache_entry *e, uint64_t size,
                       time_t mtime, struct fs_digest *out)
{
    pthread_mutex_lock(&t->lock);
    digests_load(t);
    struct fs_digest d = t->segs[i].prog.digest;
    pthread_mutex_unlock(&t->lock);
    if (d.valid && d.bytes == size && d.mtime == mtime) {
        *out = d;
        return 0;
    }
    /* Not known (a snapshot from before the digests were kept): read it once. */
    int rc = 0, gz = 0;
    unsigned char *chunk = malloc(DIGEST_READ_CHUNK), *plain = malloc(DIGEST_READ_CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    z_stream z;
    memset(&z, 0, sizeof z);
    int zinit = 0;
    long items = 0;
    uint64_t off = 0;
    if (!chunk || !plain || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = -ENOMEM;
        goto out;
    }
    while (off < size) {
        ssize_t n = cache_entry_read(e, chunk, DIGEST_READ_CHUNK, off);
        if (n <= 0) {
            char key[1024];
            fs_segment_key(t, i, key, sizeof key);
            log_error("reading snapshot %s for its checksum: %s", key,
                      n == 0 ? "shorter than its size" : "read failed");
            rc = -EIO;
            goto out;
        }
        if (off == 0 && n >= 2 && chunk[0] == 0x1f && chunk[1] == 0x8b) {
            gz = 1;
            if (inflateInit2(&z, 15 + 16) != Z_OK) {
                rc = -ENOMEM;
                goto out;
            }
            zinit = 1;
        }
        EVP_DigestUpdate(ctx, chunk, (size_t)n);
        if (!gz) {
            for (ssize_t k = 0; k < n; k++)
                items += chunk[k] == '\n';
        } else {
            z.next_in = chunk;
            z.avail_in = (uInt)n;
            while (z.avail_in > 0) {
                z.next_out = plain;
                z.avail_out = DIGEST_READ_CHUNK;
                int zr = inflate(&z, Z_NO_FLUSH);
                for (size_t k = 0; k < DIGEST_READ_CHUNK - z.avail_out; k++)
                    items += plain[k] == '\n';
                if (zr == Z_STREAM_END)
                    inflateReset(&z);
                else if (zr != Z_OK && zr != Z_BUF_ERROR)
                    break;
                if (zr == Z_BUF_ERROR)
                    break;
            }
        }
        off += (uint64_t)n;
    }
    unsigned len = 0;
    d.valid = 1;
    d.items = items;
    d.bytes = size;
    d.mtime = mtime;
    EVP_DigestFinal_ex(ctx, d.sha, &len);
    pthread_mutex_lock(&t->lock);
    t->segs[i].prog.digest = d;
    digests_save(t);
    pthread_mutex_unlock(&t->lock);
    *out = d;
out:
    if (zinit)
        inflateEnd(&z);
    EVP_MD_CTX_free(ctx);
    free(chunk);
    free(plain);
    return rc;
}

/* ---- restores ---- */

void fs_progress_restore_items(struct fs_table *t, long stored, long rejected, size_t bytes,
                               double wcu)
{
    double now = clock_mono();
    pthread_mutex_lock(&t->lock);
    t->prog.written += stored;
    t->prog.rejected += rejected;
    t->prog.written_bytes += (double)bytes;
    t->prog.consumed_wcu += wcu;
    fs_rate_add(&t->prog.wrate, now, (double)t->prog.written, t->prog.written_bytes);
    pthread_mutex_unlock(&t->lock);
    tick(t, "restore", now);
}

void fs_progress_restore_file(struct fs_table *t, const char *name, long items, long rejected,
                              uint64_t bytes, const unsigned char sha[32])
{
    struct fs_restored *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return;
    }
    r->items = items;
    r->rejected = rejected;
    r->bytes = bytes;
    memcpy(r->sha, sha, 32);
    pthread_mutex_lock(&t->lock);
    /* A later copy of the same name replaces the earlier one. */
    for (struct fs_restored **p = &t->prog.restored; *p; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            struct fs_restored *old = *p;
            *p = old->next;
            free(old->name);
            free(old);
            break;
        }
    }
    r->next = t->prog.restored;
    t->prog.restored = r;
    t->prog.files++;
    pthread_mutex_unlock(&t->lock);
}

void fs_progress_table_cleanup(struct fs_table *t)
{
    for (struct fs_restored *r = t->prog.restored, *next; r; r = next) {
        next = r->next;
        free(r->name);
        free(r);
    }
    t->prog.restored = NULL;
    free(t->prog.verified);
    t->prog.verified = NULL;
    if (t->prog.deferred && t->prog.awaiting)
        log_error("%s: restore of %s: segment files it lists were never written (%s); see "
                  "user.ddbfs.restore.verified while mounted",
                  t->prog.deferred_path, t->name,
                  t->prog.verified ? t->prog.verified : "not checked");
    free(t->prog.deferred);
    free(t->prog.deferred_path);
    t->prog.deferred = t->prog.deferred_path = NULL;
    for (unsigned i = 0; i < t->nseg && t->segs; i++) {
        EVP_MD_CTX_free(t->segs[i].prog.sha);
        t->segs[i].prog.sha = NULL;
    }
}

/* ---- xattrs ---- */

#define MAX_ATTRS 24

struct attrs {
    int n;
    const char *name[MAX_ATTRS];
    char value[MAX_ATTRS][160];
};

__attribute__((format(printf, 3, 4))) static void attr(struct attrs *a, const char *name,
                                                       const char *fmt, ...)
{
    if (a->n >= MAX_ATTRS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->value[a->n], sizeof a->value[a->n], fmt, ap);
    va_end(ap);
    a->name[a->n++] = name;
}

static void number_or_unknown(struct attrs *a, const char *name, double v)
{
    if (v > 0)
        attr(a, name, "%.0f", v);
    else
        attr(a, name, "unknown");
}

static void table_attrs(struct fs_table *t, struct attrs *a)
{
    struct summary m;
    summarize(t, &m);
    char eta[32];
    attr(a, FS_XATTR_PREFIX "state", "%s", table_state(&m));
    attr(a, FS_XATTR_PREFIX "segments.total", "%u", m.nseg);
    attr(a, FS_XATTR_PREFIX "segments.done", "%u", m.done);
    attr(a, FS_XATTR_PREFIX "segments.scanning", "%u", m.scanning);
    attr(a, FS_XATTR_PREFIX "segments.queued", "%u", m.queued);
    attr(a, FS_XATTR_PREFIX "segments.failed", "%u", m.failed);
    attr(a, FS_XATTR_PREFIX "items", "%ld", m.items);
    attr(a, FS_XATTR_PREFIX "bytes", "%.0f", m.bytes);
    attr(a, FS_XATTR_PREFIX "consumed_rcu", "%.1f", m.consumed);
    attr(a, FS_XATTR_PREFIX "rate.items_per_s", "%.1f", m.items_s);
    attr(a, FS_XATTR_PREFIX "rate.bytes_per_s", "%.0f", m.bytes_s);
    number_or_unknown(a, FS_XATTR_PREFIX "items_expected", m.expected);
    attr(a, FS_XATTR_PREFIX "eta", "%s", fs_eta_format(m.eta, eta, sizeof eta));
    attr(a, FS_XATTR_PREFIX "restore.files", "%ld", m.files);
    attr(a, FS_XATTR_PREFIX "restore.items_written", "%ld", m.written);
    attr(a, FS_XATTR_PREFIX "restore.items_rejected", "%ld", m.rejected);
    attr(a, FS_XATTR_PREFIX "restore.rate.items_per_s", "%.1f", m.w_items_s);
    attr(a, FS_XATTR_PREFIX "restore.consumed_wcu", "%.1f", m.wcu);
    number_or_unknown(a, FS_XATTR_PREFIX "restore.items_expected", (double)m.rexpected);
    attr(a, FS_XATTR_PREFIX "restore.verified", "%s", m.verified);
}

static void segment_attrs(struct fs_table *t, unsigned i, struct attrs *a)
{
    struct seg_view v;
    seg_view(t, i, clock_mono(), &v);
    pthread_mutex_lock(&t->lock);
    double expected = t->nseg ? (double)t->info.item_count / t->nseg : 0;
    double avg = t->info.item_count > 0 ? (double)t->info.size_bytes / t->info.item_count : 0;
    double budget = t->parallel ? t->read_budget / t->parallel : 0;
    int consistent = t->fs->opts.consistent_read;
    pthread_mutex_unlock(&t->lock);
    double eta = v.state == FS_SEG_DONE ? 0
                 : v.state == FS_SEG_SCANNING
                     ? fs_eta_seconds(expected, (double)v.items, v.items_s, avg, budget,
                                      consistent ? 4096 : 8192)
                     : -1;
    char e[32];
    attr(a, FS_XATTR_PREFIX "state", "%s", state_name[v.state]);
    if (v.items >= 0)
        attr(a, FS_XATTR_PREFIX "items", "%ld", v.items);
    else
        attr(a, FS_XATTR_PREFIX "items", "unknown");
    attr(a, FS_XATTR_PREFIX "bytes", "%" PRIu64, v.bytes);
    attr(a, FS_XATTR_PREFIX "consumed_rcu", "%.1f", v.consumed);
    attr(a, FS_XATTR_PREFIX "rate.items_per_s", "%.1f", v.items_s);
    attr(a, FS_XATTR_PREFIX "rate.bytes_per_s", "%.0f", v.bytes_s);
    attr(a, FS_XATTR_PREFIX "eta", "%s", fs_eta_format(eta, e, sizeof e));
    if (v.have_sha) {
        char hex[65];
        fs_sha256_hex(v.sha, hex);
        attr(a, FS_XATTR_PREFIX "sha256", "%s", hex);
    }
}

static void collect(struct fs *fs, struct fs_table *t, const char *file, struct attrs *a)
{
    a->n = 0;
    if (!t) {
        attr(a, FS_XATTR_PREFIX "mount", "ddbfs %s", fs->opts.source);
        return;
    }
    pthread_mutex_lock(&t->lock);
    int described = t->described;
    pthread_mutex_unlock(&t->lock);
    if (!file) {
        table_attrs(t, a);
        return;
    }
    if (!described)
        return;
    long i = fs_segment_parse(t, file);
    if (i >= 0)
        segment_attrs(t, (unsigned)i, a);
}

int fs_progress_getxattr(struct fs *fs, struct fs_table *t, const char *file, const char *name,
                         char *value, size_t size)
{
    if (strncmp(name, FS_XATTR_PREFIX, strlen(FS_XATTR_PREFIX)) != 0)
        return -ENODATA;
    struct attrs *a = malloc(sizeof *a);
    if (!a)
        return -ENOMEM;
    collect(fs, t, file, a);
    int rc = -ENODATA;
    for (int k = 0; k < a->n; k++) {
        if (strcmp(a->name[k], name) != 0)
            continue;
        size_t len = strlen(a->value[k]);
        if (size == 0)
            rc = (int)len;
        else if (size < len)
            rc = -ERANGE;
        else {
            memcpy(value, a->value[k], len);
            rc = (int)len;
        }
        break;
    }
    free(a);
    return rc;
}

int fs_progress_listxattr(struct fs *fs, struct fs_table *t, const char *file, char *list,
                          size_t size)
{
    struct attrs *a = malloc(sizeof *a);
    if (!a)
        return -ENOMEM;
    collect(fs, t, file, a);
    size_t need = 0;
    for (int k = 0; k < a->n; k++)
        need += strlen(a->name[k]) + 1;
    int rc = (int)need;
    if (size > 0 && size < need)
        rc = -ERANGE;
    else if (size > 0) {
        size_t o = 0;
        for (int k = 0; k < a->n; k++) {
            size_t l = strlen(a->name[k]) + 1;
            memcpy(list + o, a->name[k], l);
            o += l;
        }
    }
    free(a);
    return rc;
}
