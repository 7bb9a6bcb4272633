/* A file being written into a table directory.
 *
 * Data files: bytes (gunzipped when they start with gzip's magic) are split into lines as they
 * arrive, each line parsed in whatever format it is in (ddb/import.h) and handed to a batch writer,
 * so items reach the table while the file is still being written, with bounded memory. Lines that
 * cannot be stored are logged with their number and DynamoDB's message, and kept in a rejects file.
 *
 * _schema.json and _ttl.json are collected whole and applied at flush: CreateTable (then wait for
 * ACTIVE) in a new table directory, a key check in an existing one, UpdateTimeToLive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "base/limits.h"
#include "base/log.h"
#include "ddb/batch.h"
#include "ddb/import.h"
#include "fs/fs.h"
#include "fs/upload.h"

#define DOC_MAX (1u << 20)      /* _schema.json, _ttl.json */
#define REJECT_LOG_MAX 100      /* reject lines logged per file; the rest are counted */
#define LONG_LINE_KEEP 4096     /* bytes of an over-long line kept in the rejects file */
#define INFLATE_CHUNK (256u << 10)

void fs_upload_attach(struct fs_upload *u, struct fs_written *w)
{
    u->entry = w;
}

const char *fs_upload_path(const struct fs_upload *u)
{
    return u->path;
}

/* rsync writes ".NAME.XXXXXX" and renames it to NAME afterwards. */
static char *intended_name(const char *name)
{
    size_t n = strlen(name);
    if (n > 8 && name[0] == '.' && name[n - 7] == '.') {
        int rnd = 1;
        for (size_t i = n - 6; i < n; i++)
            if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                  (name[i] >= '0' && name[i] <= '9')))
                rnd = 0;
        if (rnd)
            return strndup(name + 1, n - 8);
    }
    return strdup(name);
}

/* ---- rejects ---- */

static void open_rejects(struct fs_upload *u)
{
    if (u->rejects_fd >= 0 || u->rejects_path)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rejects", u->fs->cache_dir);
    mkdir(dir, 0700);
    chmod(dir, 0700);
    char stamp[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char name[1024];
    size_t o = 0;
    for (const char *p = u->path; *p && o + 1 < sizeof name; p++)
        name[o++] = *p == '/' ? '_' : *p;
    name[o] = '\0';
    if (asprintf(&u->rejects_path, "%s/%s.%s.%ld.rejects", dir, name, stamp,
                 (long)(ts.tv_nsec / 1000)) < 0) {
        u->rejects_path = NULL;
        return;
    }
    u->rejects_fd = open(u->rejects_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (u->rejects_fd >= 0)
        fchmod(u->rejects_fd, 0600);
    else
        log_error("%s: cannot write the rejects file %s", u->path, u->rejects_path);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Any thread. */
static void reject(struct fs_upload *u, long line_no, const char *raw, size_t len,
                   const char *why)
{
    pthread_mutex_lock(&u->lock);
    if (u->rejected++ == 0)
        snprintf(u->first, sizeof u->first, "line %ld: %s", line_no, why);
    open_rejects(u);
    if (u->rejects_fd >= 0) {
        write_all(u->rejects_fd, raw, len);
        write_all(u->rejects_fd, "\n", 1);
    }
    if (u->logged++ < REJECT_LOG_MAX)
        log_error("%s line %ld: not stored: %s", u->path, line_no, why);
    else if (u->logged == REJECT_LOG_MAX + 1)
        log_error("%s: more lines not stored; see %s", u->path,
                  u->rejects_path ? u->rejects_path : "the log");
    pthread_mutex_unlock(&u->lock);
}

static void on_writer_reject(long tag, void *user, const struct ddb_error *err, void *ud)
{
    struct fs_upload *u = ud;
    struct raw_line *r = user;
    reject(u, tag, r ? r->data : "", r ? r->len : 0, err->message);
}

/* ---- data lines ---- */

static int start_writer(struct fs_upload *u)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_writer_opts wo = {
        .table = u->t->name,
        .key = &u->t->info.key,
        .throttle = &u->t->write_bucket,
        .reject_user = on_writer_reject,
        .user_free = free,
        .log_throttle = u->fs->opts.log_throttle,
    };
    u->writer = ddb_writer_new(u->fs->client, &wo, NULL, u, &err);
    if (!u->writer)
        return fs_errno_from_ddb(&err, u->path);
    return 0;
}

static int handle_line(struct fs_upload *u, const char *p, size_t n)
{
    u->line_no++;
    json_t *item = NULL;
    enum ddb_import_format fmt;
    char msg[DDB_ERRMSG_MAX];
    int r = ddb_import_line(p, n, &item, &fmt, msg, sizeof msg);
    if (r == 1)
        return 0;
    if (r < 0) {
        reject(u, u->line_no, p, n, msg);
        return 0;
    }
    if (!u->writer) {
        int rc = start_writer(u);
        if (rc) {
            json_decref(item);
            return rc;
        }
    }
    struct raw_line *raw = malloc(sizeof *raw + n);
    if (!raw) {
        json_decref(item);
        return -ENOMEM;
    }
    raw->len = n;
    memcpy(raw->data, p, n);
    struct ddb_error err;
    ddb_error_clear(&err);
    u->items++;
    if (ddb_writer_put_ex(u->writer, item, u->line_no, raw, n, &err) != 0)
        return fs_errno_from_ddb(&err, u->path); /* the table is gone: stop the copy */
    return 0;
}

/* Splits plain bytes into lines. */
static int feed_lines(struct fs_upload *u, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!u->skipping) {
            if (buf_add(&u->line, p, take) != BUF_OK) {
                /* Longer than any item can be: reject it, keep its start, skip to its end. */
                char why[160];
                snprintf(why, sizeof why, "the line is longer than %u bytes (only its first %u "
                         "bytes are in the rejects file)", (unsigned)DDB_LINE_MAX,
                         (unsigned)LONG_LINE_KEEP);
                reject(u, u->line_no + 1, u->line.data,
                       u->line.len < LONG_LINE_KEEP ? u->line.len : LONG_LINE_KEEP, why);
                u->line_no++;
                u->skipping = 1;
                buf_reset(&u->line);
            }
        }
        if (!nl)
            return 0;
        if (u->skipping) {
            u->skipping = 0;
        } else {
            int rc = handle_line(u, buf_str(&u->line), u->line.len);
            buf_reset(&u->line);
            if (rc)
                return rc;
        }
        p = nl + 1;
        n -= take + 1;
    }
    return 0;
}

static int feed_gzip(struct fs_upload *u, const unsigned char *p, size_t n)
{
    unsigned char *chunk = malloc(INFLATE_CHUNK);
    if (!chunk)
        return -ENOMEM;
    int rc = 0;
    u->z->next_in = (unsigned char *)p;
    u->z->avail_in = (uInt)n;
    while (u->z->avail_in > 0 && rc == 0) {
        if (u->z_done) {
            /* Another gzip member follows (concatenated files are one stream). */
            inflateReset(u->z);
            u->z_done = 0;
        }
        u->z->next_out = chunk;
        u->z->avail_out = INFLATE_CHUNK;
        int zr = inflate(u->z, Z_NO_FLUSH);
        size_t have = INFLATE_CHUNK - u->z->avail_out;
        if (have)
            rc = feed_lines(u, (const char *)chunk, have);
        if (zr == Z_STREAM_END) {
            u->z_done = 1;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            log_error("%s: not valid gzip data at byte %lld of the file (%s); nothing after it "
                      "is read",
                      u->path, (long long)u->offset, u->z->msg ? u->z->msg : "corrupt");
            /* The line being decompressed is cut there: kept, never stored. */
            reject(u, ++u->line_no, u->skipping ? "" : buf_str(&u->line),
                   u->skipping ? 0 : u->line.len,
                   "the gzip data is corrupt here: this line and the rest of the file are not "
                   "stored (the lines before are)");
            buf_reset(&u->line);
            u->skipping = 0;
            u->z_bad = 1;
            rc = -EIO;
        } else if (zr == Z_BUF_ERROR && have == 0) {
            break;
        }
    }
    free(chunk);
    return rc;
}

static int feed(struct fs_upload *u, const char *p, size_t n)
{
    if (u->gz == 0) {
        /* Detect gzip by its magic bytes, not by the name. */
        while (u->nhead < 2 && n > 0) {
            u->head[u->nhead++] = (unsigned char)*p++;
            n--;
        }
        if (u->nhead < 2)
            return 0;
        if (u->head[0] == 0x1f && u->head[1] == 0x8b) {
            u->gz = 2;
            u->z = calloc(1, sizeof *u->z);
            if (!u->z || inflateInit2(u->z, 15 + 16) != Z_OK)
                return -ENOMEM;
            int rc = feed_gzip(u, u->head, 2);
            if (rc)
                return rc;
        } else {
            u->gz = 1;
            int rc = feed_lines(u, (const char *)u->head, 2);
            if (rc)
                return rc;
        }
    }
    if (u->z_bad)
        return -EIO; /* reported once, where the corrupt data was */
    return u->gz == 2 ? feed_gzip(u, (const unsigned char *)p, n) : feed_lines(u, p, n);
}

/* The end of the file: the last line without a newline, a gzip stream cut short. */
static int finish_data(struct fs_upload *u)
{
    int rc = 0;
    if (u->gz == 0 && u->nhead == 1) {
        u->gz = 1;
        rc = feed_lines(u, (const char *)u->head, 1);
    }
    if (u->z_bad)
        return 0; /* reported where it was found */
    if (u->gz == 2 && !u->z_done && u->offset > 0) {
        /* A line the cut goes through may parse (a legacy line missing its last attributes), so
         * it is kept, never stored. */
        int in_line = !u->skipping && u->line.len > 0;
        reject(u, in_line ? ++u->line_no : u->line_no + 1, in_line ? buf_str(&u->line) : "",
               in_line ? u->line.len : 0,
               in_line ? "the gzip data ends early, inside this line: the file was cut short "
                         "(the lines before are stored, this one is not)"
                       : "the gzip data ends early: the file was cut short (the lines before "
                         "are stored)");
        buf_reset(&u->line);
        u->skipping = 0;
        return 0;
    }
    if (!rc && !u->skipping && u->line.len > 0) {
        rc = handle_line(u, buf_str(&u->line), u->line.len);
        buf_reset(&u->line);
    }
    u->skipping = 0;
    return rc;
}

/* ---- documents ---- */

static int apply_doc(struct fs_upload *u)
{
    if (u->kind == UP_MANIFEST)
        return fs_manifest_check(u->t, buf_str(&u->doc), u->doc.len, u->path,
                                 strcmp(u->meant, u->path + strlen(u->t->name) + 1) != 0);
    json_error_t je;
    json_t *doc = json_loadb(buf_str(&u->doc), u->doc.len, 0, &je);
    if (!json_is_object(doc)) {
        log_error("%s: not a JSON object (%s, line %d column %d)", u->path,
                  doc ? "another JSON value" : je.text, je.line, je.column);
        json_decref(doc);
        return -EIO;
    }
    int rc;
    pthread_mutex_lock(&u->t->lock);
    int pending = u->t->pending;
    pthread_mutex_unlock(&u->t->lock);
    if (u->kind == UP_SCHEMA) {
        rc = pending ? fs_table_create(u->t, doc, u->path) : fs_table_check_schema(u->t, doc, u->path);
        if (pending && rc == 0)
            rc = fs_spool_replay(u->t, u->path);
        if (pending && rc == 0)
            rc = fs_manifest_check_deferred(u->t);
    } else if (pending) {
        log_error("%s: table %s does not exist yet: write its _schema.json first", u->path,
                  u->t->name);
        rc = -EIO;
    } else {
        json_t *spec = json_object_get(doc, "TimeToLiveSpecification");
        struct ddb_error err;
        ddb_error_clear(&err);
        if (!json_is_object(spec)) {
            log_error("%s: no TimeToLiveSpecification object in it", u->path);
            rc = -EIO;
        } else if (ddb_update_ttl(u->fs->client, u->t->name, spec, &err) != 0) {
            rc = fs_errno_from_ddb(&err, u->path);
            if (rc != -EIO)
                rc = -EIO;
        } else {
            log_info("%s: Time to Live set on %s", u->path, u->t->name);
            rc = 0;
        }
    }
    json_decref(doc);
    return rc;
}

/* ---- progress and the manifest check ---- */

/* Checksums bytes received (data files only) and tells the table's progress what was stored and
 * rejected since the last call. */
static void restore_progress(struct fs_upload *u, const char *buf, size_t size)
{
    if (size) {
        if (!u->sha && (u->sha = EVP_MD_CTX_new()) &&
            EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(u->sha);
            u->sha = NULL;
        }
        if (u->sha)
            EVP_DigestUpdate(u->sha, buf, size);
    }
    struct ddb_writer_stats ws = {0};
    if (u->writer)
        ddb_writer_get_stats(u->writer, &ws);
    pthread_mutex_lock(&u->lock);
    long rejected = u->rejected;
    pthread_mutex_unlock(&u->lock);
    long ds = ws.items_stored - u->told_stored, dr = rejected - u->told_rejected;
    double dw = ws.consumed - u->told_wcu;
    u->told_stored = ws.items_stored;
    u->told_rejected = rejected;
    u->told_wcu = ws.consumed;
    if (ds || dr || size || dw > 0)
        fs_progress_restore_items(u->t, ds, dr, size, dw);
}

/* At close: what this file stored, and the sha256 of its bytes so far. */
static void restore_record(struct fs_upload *u)
{
    unsigned char sha[32] = {0};
    unsigned len = 0;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (!copy)
        return;
    if (u->sha ? EVP_MD_CTX_copy_ex(copy, u->sha) == 1
               : EVP_DigestInit_ex(copy, EVP_sha256(), NULL) == 1)
        EVP_DigestFinal_ex(copy, sha, &len);
    EVP_MD_CTX_free(copy);
    pthread_mutex_lock(&u->lock);
    long rejected = u->rejected;
    pthread_mutex_unlock(&u->lock);
    fs_progress_restore_file(u->t, u->meant, u->told_stored, rejected, (uint64_t)u->offset, sha);
}

/* ---- public ---- */

struct fs_upload *fs_upload_open(struct fs_table *t, const char *name, int *rc)
{
    char *meant = intended_name(name);
    struct fs_upload *u = calloc(1, sizeof *u);
    if (!meant || !u || asprintf(&u->path, "%s/%s", t->name, name) < 0) {
        free(meant);
        free(u);
        *rc = -ENOMEM;
        return NULL;
    }
    u->fs = t->fs;
    u->t = t;
    u->rejects_fd = -1;
    u->spool_fd = -1;
    u->kind = strcmp(meant, FS_SCHEMA_NAME) == 0     ? UP_SCHEMA
              : strcmp(meant, FS_TTL_NAME) == 0      ? UP_TTL
              : fs_manifest_name_is(meant)           ? UP_MANIFEST
                                                     : UP_DATA;
    u->meant = meant;
    buf_init(&u->line, DDB_LINE_MAX);
    buf_init(&u->doc, u->kind == UP_MANIFEST ? FS_MANIFEST_MAX : DOC_MAX);
    pthread_mutex_init(&u->lock, NULL);
    pthread_mutex_lock(&u->fs->lock);
    u->next_open = u->fs->uploads;
    if (u->next_open)
        u->next_open->prev_open = u;
    u->fs->uploads = u;
    pthread_mutex_unlock(&u->fs->lock);
    fs_table_upload_count(t, +1);
    u->spool_fd = -1;
    if (u->kind == UP_DATA) {
        pthread_mutex_lock(&t->lock);
        int pending = t->pending;
        pthread_mutex_unlock(&t->lock);
        int drc = pending ? fs_spool_open(u) : fs_table_describe(t);
        if (drc) {
            *rc = drc;
            fs_upload_release(u);
            return NULL;
        }
    }
    return u;
}

int fs_upload_write(struct fs_upload *u, const char *buf, size_t size, off_t off)
{
    if (off != u->offset) {
        log_error("%s: a write at byte %lld, but %lld bytes were written so far: ddbfs takes "
                  "files written from start to end only (refused, EINVAL)",
                  u->path, (long long)off, (long long)u->offset);
        return -EINVAL;
    }
    int rc = 0;
    if (u->spool_fd >= 0) {
        rc = fs_spool_write(u, buf, size);
    } else if (u->kind == UP_DATA) {
        rc = feed(u, buf, size);
        if (!rc)
            restore_progress(u, buf, size);
    } else if (buf_add(&u->doc, buf, size) != BUF_OK) {
        log_error("%s: larger than %u bytes: not a %s", u->path,
                  u->kind == UP_MANIFEST ? FS_MANIFEST_MAX : DOC_MAX,
                  u->kind == UP_MANIFEST ? "ddbfs manifest" : "table definition (nothing is created)");
        u->doc_bad = 1;
        u->dirty = 1;
        rc = -EFBIG;
    }
    if (rc)
        return rc;
    u->offset += (off_t)size;
    u->dirty = 1;
    if (u->entry)
        fs_written_grow(u->t, u->entry, u->offset);
    return (int)size;
}

int fs_upload_truncate(struct fs_upload *u, off_t size)
{
    if (size == u->offset)
        return 0;
    if (size > u->offset) {
        log_error("%s: extending to %lld bytes with zeros is not a restore file (refused)",
                  u->path, (long long)size);
        return -EINVAL;
    }
    if (u->offset == 0 || size == 0) {
        if (u->offset > 0) {
            log_error("%s: truncated after %lld bytes were written: those items are already "
                      "stored (refused)",
                      u->path, (long long)u->offset);
            return -EINVAL;
        }
        return 0;
    }
    log_error("%s: truncating what was written is not possible: the items are stored (refused)",
              u->path);
    return -EINVAL;
}

int fs_upload_flush(struct fs_upload *u, int end)
{
    if (!u->dirty)
        return u->result;
    int rc = 0;
    if (u->kind != UP_DATA) {
        if (!end)
            return 0; /* a document is applied whole, when the file is closed */
        u->dirty = 0;
        if (u->doc_bad)
            rc = -EIO;
        else if (!u->doc_done) {
            rc = apply_doc(u);
            u->doc_done = rc == 0;
        }
        u->result = rc;
        return rc;
    }
    u->dirty = 0;
    if (u->spool_fd >= 0) {
        rc = end ? fs_spool_close(u) : (fsync(u->spool_fd) == 0 ? 0 : -EIO);
        u->result = rc;
        return rc;
    }
    /* fsync stores what is complete; close also takes a last line without its newline, and an
     * unfinished gzip stream as cut short. */
    if (end)
        rc = finish_data(u);
    struct ddb_error err;
    ddb_error_clear(&err);
    if (u->writer)
        ddb_writer_flush(u->writer, &err);
    if (u->items)
        fs_table_invalidate(u->t);
    restore_progress(u, NULL, 0);
    if (end) {
        restore_record(u);
        if (fs_manifest_check_awaiting(u->t) != 0)
            rc = -EIO;
    }
    pthread_mutex_lock(&u->lock);
    long rejected = u->rejected;
    pthread_mutex_unlock(&u->lock);
    if (rejected) {
        struct ddb_writer_stats ws = {0};
        if (u->writer)
            ddb_writer_get_stats(u->writer, &ws);
        log_error("%s: %ld line%s not stored (first: %s); %ld item%s stored; the lines not stored "
                  "are in %s",
                  u->path, rejected, rejected == 1 ? "" : "s", u->first, ws.items_stored,
                  ws.items_stored == 1 ? "" : "s",
                  u->rejects_path ? u->rejects_path : "(the rejects file could not be written)");
        rc = -EIO;
    } else if (!rc && u->writer) {
        struct ddb_writer_stats ws;
        ddb_writer_get_stats(u->writer, &ws);
        log_info("%s: %ld items stored (%.0f WCU)", u->path, ws.items_stored, ws.consumed);
    }
    u->result = rc;
    return rc;
}

void fs_upload_release(struct fs_upload *u)
{
    if (!u)
        return;
    if (u->dirty)
        fs_upload_flush(u, 1);
    ddb_writer_free(u->writer);
    if (u->z) {
        inflateEnd(u->z);
        free(u->z);
    }
    if (u->rejects_fd >= 0)
        close(u->rejects_fd);
    if (u->spool_fd >= 0)
        close(u->spool_fd);
    if (u->spool_path) { /* never handed to the table: nothing waits for it */
        unlink(u->spool_path);
        free(u->spool_path);
    }
    if (u->entry)
        fs_written_close(u->t, u->entry);
    pthread_mutex_lock(&u->fs->lock);
    if (u->prev_open)
        u->prev_open->next_open = u->next_open;
    else
        u->fs->uploads = u->next_open;
    if (u->next_open)
        u->next_open->prev_open = u->prev_open;
    pthread_mutex_unlock(&u->fs->lock);
    fs_table_upload_count(u->t, -1);
    buf_cleanup(&u->line);
    buf_cleanup(&u->doc);
    pthread_mutex_destroy(&u->lock);
    free(u->rejects_path);
    EVP_MD_CTX_free(u->sha);
    free(u->meant);
    free(u->path);
    free(u);
}

/* An upload written since its last flush when the mount went away: the writer's descriptor died
 * with the mount, or ddbfs was stopped while the file was being written. */
static void cut_off(struct fs_upload *u)
{
    long long got = (long long)u->offset;
    if (u->spool_fd >= 0) {
        int synced = fsync(u->spool_fd) == 0;
        log_error("%s: still being written at unmount (%lld bytes received): nothing stored, "
                  "table %s has no _schema.json yet; the bytes received are %s %s: copy the "
                  "file again",
                  u->path, got, u->t->name, synced ? "in" : "partly in", u->spool_path);
        free(u->spool_path); /* kept on disk: the log names it */
        u->spool_path = NULL;
        return;
    }
    if (u->kind != UP_DATA) {
        log_error("%s: still being written at unmount (%lld bytes received): not applied (a "
                  "table definition is applied whole, when the file is closed): copy it again",
                  u->path, got);
        return;
    }
    long complete = u->line_no;
    if (u->gz == 2 && !u->z_done && u->offset > 0)
        reject(u, u->line_no + 1, "", 0,
               "the gzip data was cut short: the file was still being written at unmount");
    else if (!u->skipping && u->line.len > 0)
        reject(u, u->line_no + 1, buf_str(&u->line), u->line.len,
               "cut short: the file was still being written at unmount");
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_writer_stats ws = {0};
    if (u->writer) {
        ddb_writer_flush(u->writer, &err);
        ddb_writer_get_stats(u->writer, &ws);
    }
    if (u->items)
        fs_table_invalidate(u->t);
    pthread_mutex_lock(&u->lock);
    long rejected = u->rejected;
    pthread_mutex_unlock(&u->lock);
    log_error("%s: still being written at unmount after %lld bytes: the %ld complete line%s "
              "received are handled (%ld item%s stored, %ld line%s not stored%s%s); whatever was "
              "written after byte %lld never arrived: copy the file again (restoring is an upsert)",
              u->path, got, complete, complete == 1 ? "" : "s", ws.items_stored,
              ws.items_stored == 1 ? "" : "s", rejected, rejected == 1 ? "" : "s",
              rejected ? ", kept in " : "", rejected && u->rejects_path ? u->rejects_path : "", got);
}

int fs_uploads_unmount(struct fs *fs)
{
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&fs->lock);
        struct fs_upload *u = fs->uploads;
        pthread_mutex_unlock(&fs->lock);
        if (!u)
            break;
        if (u->dirty) {
            cut_off(u);
            n++;
        }
        else
            log_debug("%s: still open at unmount, everything written was flushed", u->path);
        u->dirty = 0; /* released as it stands: no end of file is made up */
        fs_upload_release(u);
    }
    return n;
}
