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
    char file[FS_MANIFEST_NAME_MAX];
    fs_manifest_name(t->fs->opts.shard_k, t->fs->opts.shard_m, file, sizeof file);
    *text = NULL;
    fs_table_prefetch(t);
    if (fs_manifest_set_table(&m, t->name) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    m.nseg = t->nseg;
    m.file = file;
    unsigned char sha[32];
    unsigned shalen = 0;
    if (EVP_Digest(t->schema, t->schema_len, sha, &shalen, EVP_sha256(), NULL) == 1)
        fs_sha256_hex(sha, m.schema_sha);
    for (unsigned i = 0; i < t->nseg && !rc; i++) {
        if (!fs_opts_shard_owns(&t->fs->opts, i))
            continue; /* another host's */
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
        log_error("%s/%s: not available: a segment's snapshot failed (see above)", t->name, file);
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

/* A segment the copy tool skipped because the table's own file of that name was the same (rsync's
 * quick check, restoring into the table that was backed up): the table's last snapshot of it had
 * the manifest's items, bytes and sha256. Never waits. (Restoring another segment's items does not
 * change this one: a key's segment depends only on the key and the segment count.) */
static int already_there(struct fs_table *t, const struct fs_manifest_seg *ms)
{
    pthread_mutex_lock(&t->lock);
    long i = t->described ? fs_segment_parse(t, ms->name) : -1;
    struct fs_digest d = {0};
    if (i >= 0)
        d = t->segs[i].prog.digest;
    pthread_mutex_unlock(&t->lock);
    char hex[65];
    fs_sha256_hex(d.sha, hex);
    return d.valid && d.items == ms->items && d.bytes == ms->bytes && strcmp(hex, ms->sha) == 0;
}

/* Keeps a manifest to check later: until _schema.json has created the table (awaiting 0), or
 * until the segment files it lists that were not written yet come (awaiting 1). */
static int keep(struct fs_table *t, const char *text, size_t len, const char *path, long items,
                int awaiting)
{
    char *copy = malloc(len + 1), *where = strdup(path);
    if (!copy || !where) {
        free(copy);
        free(where);
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
    t->prog.awaiting = awaiting;
    t->prog.expected = items;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Drops the kept manifest (it has its verdict). */
static void unkeep(struct fs_table *t)
{
    pthread_mutex_lock(&t->lock);
    free(t->prog.deferred);
    free(t->prog.deferred_path);
    t->prog.deferred = t->prog.deferred_path = NULL;
    t->prog.awaiting = 0;
    pthread_mutex_unlock(&t->lock);
}

struct verdict {
    long written, there, missing, wrong;
    char first[600]; /* the first problem */
    char first_missing[256];
};

/* Compares m with what was restored; logs each problem when log_each. */
static void compare(struct fs_table *t, const struct fs_manifest *m, const char *path, int log_each,
                    struct verdict *v)
{
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < m->n; i++) {
        const struct fs_manifest_seg *s = &m->segs[i];
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
        if (!found && already_there(t, s)) {
            v->there += s->items;
        } else if (!found) {
            v->missing++;
            if (!v->first_missing[0])
                snprintf(v->first_missing, sizeof v->first_missing, "%s", s->name);
            snprintf(why, sizeof why,
                     "%s is missing: it was not written into %s through this mount", s->name,
                     t->name);
        } else {
            v->written += r.items;
            if (r.items != s->items || r.rejected)
                snprintf(why, sizeof why,
                         "%s: %ld items written (%ld rejected), the manifest "
                         "expects %ld",
                         s->name, r.items, r.rejected, s->items);
            else if (strcmp(hex, s->sha) != 0 || r.bytes != s->bytes)
                snprintf(why, sizeof why,
                         "%s: its bytes differ from the backup's (%" PRIu64
                         " bytes, sha256 %s; the manifest says %" PRIu64 " bytes, sha256 %s)",
                         s->name, r.bytes, hex, s->bytes, s->sha);
            if (why[0])
                v->wrong++;
        }
        if (why[0]) {
            if (log_each)
                log_error("%s: %s", path, why);
            if (!v->first[0])
                snprintf(v->first, sizeof v->first, "%s", why);
        }
    }
}

/* strict: the copy tool writes in name order (rsync), so a segment not written by now never will
 * be. again: a re-check of a kept manifest (nothing new to announce while still waiting). */
static int check(struct fs_table *t, const char *text, size_t len, const char *path, int strict,
                 int again)
{
    struct fs_manifest m;
    fs_manifest_init(&m);
    char msg[256];
    int rc = 0;
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
        rc = keep(t, text, len, path, m.items, 0);
        if (!rc)
            log_info("%s: kept until %s/_schema.json creates the table; checked then", path,
                     t->name);
        goto out;
    }
    struct verdict v;
    compare(t, &m, path, 0, &v);
    if (v.missing && !v.wrong && !strict) {
        /* cp and tar copy in the source directory's order: the rest may still come. */
        rc = keep(t, text, len, path, m.items, 1);
        set_verified(t, m.items,
                     "waiting: %ld of %zu segment files not written yet (first: %s); "
                     "checked as they arrive",
                     v.missing, m.n, v.first_missing);
        if (!rc && !again)
            log_info("%s: %ld of %zu segment files it lists are not written yet (first: %s): "
                     "checked as they arrive",
                     path, v.missing, m.n, v.first_missing);
        goto out;
    }
    if (again)
        unkeep(t);
    if (v.missing || v.wrong) {
        compare(t, &m, path, 1, &v);
        log_error("%s: restore of %s does not match the manifest: %ld items written of %ld "
                  "expected; %ld of %zu segment files missing, %ld not matching (first: %s)",
                  path, t->name, v.written, m.items, v.missing, m.n, v.wrong, v.first);
        set_verified(t, m.items,
                     "failed: %ld items written of %ld expected; %ld segments missing, "
                     "%ld not matching (first: %s)",
                     v.written, m.items, v.missing, v.wrong, v.first);
        rc = -EIO;
    } else {
        char also[96] = "";
        if (v.there)
            snprintf(also, sizeof also, " (%ld more already in the table, unchanged)", v.there);
        log_info("%s: restore of %s matches the manifest: %ld items written of %ld expected%s, %zu "
                 "segment files, every sha256 equal",
                 path, t->name, v.written, m.items, also, m.n);
        set_verified(t, m.items, "ok: %ld items written of %ld expected%s, %zu segment files match",
                     v.written, m.items, also, m.n);
    }
out:
    fs_manifest_cleanup(&m);
    return rc;
}

int fs_manifest_check(struct fs_table *t, const char *text, size_t len, const char *path,
                      int strict)
{
    pthread_mutex_lock(&t->lock);
    int kept = t->prog.deferred != NULL;
    pthread_mutex_unlock(&t->lock);
    if (kept)
        unkeep(t); /* a newer manifest replaces it */
    return check(t, text, len, path, strict, 0);
}

/* Re-checks the kept manifest: after the schema (kind 0) or after a data file (kind 1). */
static int recheck(struct fs_table *t, int awaiting)
{
    pthread_mutex_lock(&t->lock);
    char *text = NULL, *path = NULL;
    size_t len = t->prog.deferred_len;
    if (t->prog.deferred && t->prog.awaiting == awaiting) {
        text = strdup(t->prog.deferred);
        path = strdup(t->prog.deferred_path);
    }
    pthread_mutex_unlock(&t->lock);
    int rc = 0;
    if (text && path) {
        if (!awaiting)
            unkeep(t);
        rc = check(t, text, len, path, 0, awaiting);
    }
    free(text);
    free(path);
    return rc;
}

int fs_manifest_check_deferred(struct fs_table *t)
{
    return recheck(t, 0);
}

int fs_manifest_check_awaiting(struct fs_table *t)
{
    return recheck(t, 1);
}
