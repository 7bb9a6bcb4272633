/* The manifest of a table directory (segments.sha256): built from the complete snapshots when it
 * is stat'ed or opened, and checked against the files restored through this mount when a copy of
 * it is written into a table directory. Its text is fs/manifest.c's. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fs/fs.h"

int fs_manifest_build(struct fs_table *t, char **text, size_t *len, time_t *mtime_out)
{
    struct fs_manifest m;
    fs_manifest_init(&m);
    int rc = 0;
    *text = NULL;
    fs_table_prefetch(t);
    if (fs_manifest_set_table(&m, t->name) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    m.nseg = t->nseg;
    unsigned char sha[32];
    unsigned shalen = 0;
    if (EVP_Digest(t->schema, t->schema_len, sha, &shalen, EVP_sha256(), NULL) == 1)
        fs_sha256_hex(sha, m.schema_sha);
    for (unsigned i = 0; i < t->nseg && !rc; i++) {
        struct cache_entry *e = fs_segment_acquire(t, i, &rc);
        if (!e)
            break;
        uint64_t size;
        time_t mtime;
        struct fs_digest d;
        rc = fs_segment_wait(t, i, e, &size, &mtime);
        if (!rc)
            rc = fs_progress_digest(t, i, e, size, mtime, &d);
        cache_entry_release(e);
        if (rc)
            break;
        char name[96], hex[65];
        fs_segment_name(t, i, name, sizeof name);
        fs_sha256_hex(d.sha, hex);
        if (fs_manifest_add(&m, name, d.items, d.bytes, hex) != 0)
            rc = -ENOMEM;
        if (mtime > m.time)
            m.time = mtime; /* the newest snapshot's time: the text stays the same while they do */
    }
    if (!rc && !(*text = fs_manifest_format(&m, len)))
        rc = -ENOMEM;
    *mtime_out = m.time;
out:
    if (rc && rc != -ENOMEM)
        log_error("%s/%s: not available: a segment's snapshot failed (see above)", t->name,
                  FS_MANIFEST_NAME);
    fs_manifest_cleanup(&m);
    return rc;
}

static void set_verified(struct fs_table *t, long expected, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_verified(struct fs_table *t, long expected, const char *fmt, ...)
{
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0)
        v = NULL;
    va_end(ap);
    pthread_mutex_lock(&t->lock);
    free(t->prog.verified);
    t->prog.verified = v;
    t->prog.expected = expected;
    pthread_mutex_unlock(&t->lock);
}

int fs_manifest_check_deferred(struct fs_table *t)
{
    pthread_mutex_lock(&t->lock);
    char *text = t->prog.deferred, *path = t->prog.deferred_path;
    size_t len = t->prog.deferred_len;
    t->prog.deferred = t->prog.deferred_path = NULL;
    pthread_mutex_unlock(&t->lock);
    int rc = text ? fs_manifest_check(t, text, len, path) : 0;
    free(text);
    free(path);
    return rc;
}

int fs_manifest_check(struct fs_table *t, const char *text, size_t len, const char *path)
{
    struct fs_manifest m;
    fs_manifest_init(&m);
    char msg[256];
    if (fs_manifest_parse(text, len, &m, msg, sizeof msg) != 0) {
        log_error("%s: not a ddbfs manifest: %s", path, msg);
        set_verified(t, -1, "failed: %s is not a ddbfs manifest (%s)", path, msg);
        return -EIO;
    }
    pthread_mutex_lock(&t->lock);
    int pending = t->pending;
    pthread_mutex_unlock(&t->lock);
    if (pending) {
        /* Checked when the schema has created the table and its waiting files are stored. */
        char *copy = malloc(len + 1), *where = strdup(path);
        if (!copy || !where) {
            free(copy);
            free(where);
            fs_manifest_cleanup(&m);
            return -ENOMEM;
        }
        memcpy(copy, text, len);
        copy[len] = '\0';
        pthread_mutex_lock(&t->lock);
        free(t->prog.deferred);
        free(t->prog.deferred_path);
        t->prog.deferred = copy;
        t->prog.deferred_path = where;
        t->prog.deferred_len = len;
        t->prog.expected = m.items;
        pthread_mutex_unlock(&t->lock);
        log_info("%s: kept until %s/_schema.json creates the table; checked then", path, t->name);
        fs_manifest_cleanup(&m);
        return 0;
    }
    long written = 0, missing = 0, wrong = 0;
    char first[600] = "";
    for (size_t i = 0; i < m.n; i++) {
        const struct fs_manifest_seg *s = &m.segs[i];
        struct fs_restored r;
        int found = 0;
        pthread_mutex_lock(&t->lock);
        for (struct fs_restored *p = t->prog.restored; p && !found; p = p->next)
            if (strcmp(p->name, s->name) == 0) {
                r = *p;
                found = 1;
            }
        pthread_mutex_unlock(&t->lock);
        char hex[65] = "";
        if (found)
            fs_sha256_hex(r.sha, hex);
        char why[600] = "";
        if (!found) {
            missing++;
            snprintf(why, sizeof why, "%s is missing: it was not written into %s through this mount",
                     s->name, t->name);
        } else {
            written += r.items;
            if (r.items != s->items || r.rejected)
                snprintf(why, sizeof why, "%s: %ld items written (%ld rejected), the manifest "
                         "expects %ld", s->name, r.items, r.rejected, s->items);
            else if (strcmp(hex, s->sha) != 0 || r.bytes != s->bytes)
                snprintf(why, sizeof why, "%s: its bytes differ from the backup's (%" PRIu64
                         " bytes, sha256 %s; the manifest says %" PRIu64 " bytes, sha256 %s)",
                         s->name, r.bytes, hex, s->bytes, s->sha);
            if (why[0])
                wrong++;
        }
        if (why[0]) {
            log_error("%s: %s", path, why);
            if (!first[0])
                snprintf(first, sizeof first, "%s", why);
        }
    }
    int rc = 0;
    if (missing || wrong) {
        log_error("%s: restore of %s does not match the manifest: %ld items written of %ld "
                  "expected; %ld of %zu segment files missing, %ld not matching (first: %s)",
                  path, t->name, written, m.items, missing, m.n, wrong, first);
        set_verified(t, m.items, "failed: %ld items written of %ld expected; %ld segments missing, "
                     "%ld not matching (first: %s)",
                     written, m.items, missing, wrong, first);
        rc = -EIO;
    } else {
        log_info("%s: restore of %s matches the manifest: %ld items written of %ld expected, %zu "
                 "segment files, every sha256 equal",
                 path, t->name, written, m.items, m.n);
        set_verified(t, m.items, "ok: %ld items written of %ld expected, %zu segment files match",
                     written, m.items, m.n);
    }
    fs_manifest_cleanup(&m);
    return rc;
}
