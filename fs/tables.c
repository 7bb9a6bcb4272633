/* The tables the mount shows: ListTables (filtered by tables=), and for each one, once touched,
 * its description, _schema.json, read budget and segmentation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/clock.h"
#include "base/log.h"
#include "fs/fs.h"
#include "fs/schema.h"

static unsigned width_of(unsigned n)
{
    unsigned w = 1;
    for (unsigned v = n; v >= 10; v /= 10)
        w++;
    return w < 4 ? 4 : w;
}

void fs_segment_name(const struct fs_table *t, unsigned i, char *out, size_t len)
{
    unsigned w = width_of(t->nseg);
    snprintf(out, len, "segment-%0*u-of-%0*u.%s", (int)w, i, (int)w, t->nseg,
             t->fs->opts.format == FS_FORMAT_JSON_GZ ? "json.gz" : "json");
}

long fs_segment_parse(const struct fs_table *t, const char *name)
{
    unsigned i, n;
    int end = 0;
    if (sscanf(name, "segment-%u-of-%u.%n", &i, &n, &end) != 2 || end == 0 || n != t->nseg ||
        i >= n)
        return -1;
    char want[96];
    fs_segment_name(t, i, want, sizeof want);
    if (!fs_opts_shard_owns(&t->fs->opts, i)) /* another host's (shard=K/M) */
        return -1;
    return strcmp(want, name) == 0 ? (long)i : -1;
}

static struct fs_table *table_new(struct fs *fs, const char *name)
{
    struct fs_table *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    t->fs = fs;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

static void table_free(struct fs_table *t)
{
    if (!t)
        return;
    fs_progress_table_cleanup(t); /* before the segments go */
    for (unsigned i = 0; i < t->nseg; i++)
        buf_cleanup(&t->segs[i].out);
    free(t->segs);
    if (t->described) {
        ddb_throttle_cleanup(&t->read_bucket);
        ddb_throttle_cleanup(&t->write_bucket);
    }
    for (struct fs_spooled *sp = t->spooled, *next; sp; sp = next) {
        next = sp->next;
        log_error("%s/%s was written before the table's _schema.json, which never came: its "
                  "items were not stored; its bytes are kept in %s",
                  t->name, sp->name, sp->path);
        free(sp->name);
        free(sp->path);
        free(sp);
    }
    fs_written_free_all(t);
    ddb_table_info_cleanup(&t->info);
    free(t->schema);
    free(t->ttl);
    free(t->name);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void fs_tables_free(struct fs *fs)
{
    for (size_t i = 0; i < fs->ntables; i++)
        table_free(fs->tables[i]);
    free(fs->tables);
    fs->tables = NULL;
    fs->ntables = 0;
}

struct fs_table *fs_table_find(struct fs *fs, const char *name)
{
    struct fs_table *found = NULL;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->ntables && !found; i++)
        if (!fs->tables[i]->hidden && strcmp(fs->tables[i]->name, name) == 0)
            found = fs->tables[i];
    pthread_mutex_unlock(&fs->lock);
    return found;
}

int fs_tables_refresh(struct fs *fs, int force)
{
    double now = ddb_client_now(fs->client);
    pthread_mutex_lock(&fs->lock);
    int fresh = fs->listed_at > 0 && now - fs->listed_at < FS_TABLES_REFRESH_S;
    pthread_mutex_unlock(&fs->lock);
    if (fresh && !force)
        return 0;

    char **names;
    size_t n;
    struct ddb_error err;
    ddb_error_clear(&err);
    if (ddb_list_tables(fs->client, &names, &n, &err) != 0)
        return fs_errno_from_ddb(&err, "listing tables");

    /* Tables stay once seen (their state may be in use); new ones are added in order. A table
     * that disappeared answers ENOENT when it is next described. */
    int rc = 0;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < n; i++) {
        if (!fs_opts_table_wanted(&fs->opts, names[i]))
            continue;
        int have = 0;
        for (size_t k = 0; k < fs->ntables && !have; k++) {
            struct fs_table *t = fs->tables[k];
            if (strcmp(t->name, names[i]) != 0)
                continue;
            if (t->hidden) /* deleted, or an rmdir'ed pending directory: a new table */
                continue;
            have = 1;
        }
        if (have)
            continue;
        struct fs_table *t = table_new(fs, names[i]);
        struct fs_table **v = t ? realloc(fs->tables, (fs->ntables + 1) * sizeof *v) : NULL;
        if (!v) {
            table_free(t);
            rc = -ENOMEM;
            break;
        }
        fs->tables = v;
        fs->tables[fs->ntables++] = t;
    }
    /* A table that is no longer listed was deleted: hide it (kept, not freed: handles may point
     * at it). Pending directories have no table yet. */
    for (size_t k = 0; k < fs->ntables && !rc; k++) {
        struct fs_table *t = fs->tables[k];
        if (t->hidden || t->pending)
            continue;
        int listed = 0;
        for (size_t i = 0; i < n && !listed; i++)
            listed = strcmp(names[i], t->name) == 0;
        if (!listed) {
            t->hidden = 1;
            log_info("table %s is gone (no longer in ListTables)", t->name);
        }
    }
    fs->listed_at = now;
    pthread_mutex_unlock(&fs->lock);
    ddb_strv_free(names);
    return rc;
}

static time_t creation_time(const json_t *desc, time_t dflt)
{
    json_t *c = json_object_get(desc, "CreationDateTime");
    if (json_is_number(c))
        return (time_t)json_number_value(c);
    return dflt;
}

int fs_table_describe(struct fs_table *t)
{
    struct fs *fs = t->fs;
    pthread_mutex_lock(&t->lock);
    int done = t->described, pending = t->pending;
    pthread_mutex_unlock(&t->lock);
    if (done)
        return 0;
    if (pending)
        return -ENOENT;

    char ctx[600];
    snprintf(ctx, sizeof ctx, "table %s", t->name);
    struct ddb_error err;
    ddb_error_clear(&err);
    json_t *desc = ddb_describe_table(fs->client, t->name, &err);
    if (!desc && err.code == DDB_ENOTFOUND) {
        /* Deleted since it was listed: not an error of ours, the table is just gone. */
        pthread_mutex_lock(&fs->lock);
        t->hidden = 1;
        pthread_mutex_unlock(&fs->lock);
        log_info("table %s is gone (DescribeTable: %s)", t->name, err.message);
        return -ENOENT;
    }
    if (!desc)
        return fs_errno_from_ddb(&err, ctx);
    json_t *ttl = ddb_describe_ttl(fs->client, t->name, &err);
    if (!ttl)
        log_warn("table %s: no Time to Live description (%s); _schema.json will not carry TTL",
                 t->name, err.message);
    struct ddb_table_info info;
    int rc = 0;
    char msg[DDB_ERRMSG_MAX];
    json_t *schema = NULL, *ttl_spec = NULL, *ttl_doc = NULL;
    char *schema_text = NULL, *ttl_text = NULL;
    if (ddb_table_info_parse(desc, &info, &err) != 0) {
        rc = fs_errno_from_ddb(&err, ctx);
        goto out;
    }
    schema = fs_schema_from_description(desc, msg, sizeof msg);
    if (!schema || !(schema_text = fs_schema_dump(schema))) {
        log_error("table %s: could not build _schema.json: %s", t->name, schema ? "out of memory" : msg);
        ddb_table_info_cleanup(&info);
        rc = -EIO;
        goto out;
    }
    if (fs_schema_ttl_from_description(ttl, &ttl_spec, msg, sizeof msg) != 0)
        log_warn("table %s: %s; _ttl.json is not shown", t->name, msg);
    if (ttl_spec) {
        ttl_doc = json_pack("{s:s, s:O}", "TableName", t->name, "TimeToLiveSpecification", ttl_spec);
        char *text = ttl_doc ? json_dumps(ttl_doc, JSON_INDENT(2)) : NULL;
        if (text && asprintf(&ttl_text, "%s\n", text) < 0)
            ttl_text = NULL;
        free(text);
    }

    pthread_mutex_lock(&t->lock);
    if (t->described) { /* another thread won */
        pthread_mutex_unlock(&t->lock);
        ddb_table_info_cleanup(&info);
        goto out;
    }
    t->info = info;
    t->schema = schema_text;
    t->schema_len = strlen(schema_text);
    schema_text = NULL;
    t->ttl = ttl_text;
    t->ttl_len = ttl_text ? strlen(ttl_text) : 0;
    ttl_text = NULL;
    t->created = creation_time(desc, fs->mounted);
    t->read_budget = fs_read_budget(&fs->opts, &t->info);
    t->nseg = fs->opts.segments ? fs->opts.segments
                                : fs_auto_segments((double)t->info.size_bytes, t->read_budget);
    t->segs = calloc(t->nseg, sizeof *t->segs);
    if (!t->segs) {
        pthread_mutex_unlock(&t->lock);
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < t->nseg; i++) {
        t->segs[i].t = t;
        t->segs[i].index = i;
        buf_init(&t->segs[i].out, DDB_RESPONSE_MAX);
    }
    double p = ceil(t->read_budget / FS_RCU_PER_SCAN);
    p = fmax(2, fmin(p, FS_MAX_PARALLEL_SCANS));
    t->parallel = (int)fmin(p, (double)t->nseg);
    ddb_throttle_init(&t->read_bucket, t->read_budget, 0, ddb_client_now(fs->client));
    t->write_budget = fs_write_budget(&fs->opts, &t->info);
    ddb_throttle_init(&t->write_bucket, t->write_budget, 0, ddb_client_now(fs->client));
    if (t->info.size_bytes > 0 && t->info.item_count > 0)
        ddb_throttle_observe_item_size(&t->read_bucket,
                                       (double)t->info.size_bytes / (double)t->info.item_count);
    t->described_at = ddb_client_now(fs->client);
    t->described = 1;
    log_info("table %s: %s, read budget %.1f RCU/s, write budget %.1f WCU/s, %u segment%s, %d "
             "scan%s at once",
             t->name, t->info.on_demand ? "on-demand" : "provisioned", t->read_budget,
             t->write_budget, t->nseg, t->nseg == 1 ? "" : "s", t->parallel,
             t->parallel == 1 ? "" : "s");
    if (fs->opts.shard_m > 1)
        log_info("table %s: shard %u/%u: this host shows segments i with i %% %u == %u, at 1/%u of "
                 "the table's budgets",
                 t->name, fs->opts.shard_k, fs->opts.shard_m, fs->opts.shard_m, fs->opts.shard_k,
                 fs->opts.shard_m);
    pthread_mutex_unlock(&t->lock);
out:
    free(schema_text);
    free(ttl_text);
    json_decref(ttl_spec);
    json_decref(ttl_doc);
    json_decref(schema);
    json_decref(ttl);
    json_decref(desc);
    return rc;
}

/* DynamoDB's rule for table names. */
static int valid_table_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

int fs_table_add_pending(struct fs *fs, const char *name)
{
    if (!valid_table_name(name)) {
        log_error("mkdir %s: not a valid DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .)",
                  name);
        return -EINVAL;
    }
    fs_tables_refresh(fs, 1);
    if (fs_table_find(fs, name))
        return -EEXIST;
    struct fs_table *t = table_new(fs, name);
    if (!t)
        return -ENOMEM;
    t->pending = 1;
    t->created = time(NULL);
    pthread_mutex_lock(&fs->lock);
    struct fs_table **v = realloc(fs->tables, (fs->ntables + 1) * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&fs->lock);
        table_free(t);
        return -ENOMEM;
    }
    fs->tables = v;
    fs->tables[fs->ntables++] = t;
    pthread_mutex_unlock(&fs->lock);
    log_info("%s: a new table directory; write its _schema.json to create the table", name);
    return 0;
}

int fs_table_remove_pending(struct fs *fs, const char *name)
{
    pthread_mutex_lock(&fs->lock);
    int rc = -EPERM;
    for (size_t i = 0; i < fs->ntables; i++) {
        struct fs_table *t = fs->tables[i];
        if (t->hidden || strcmp(t->name, name) != 0)
            continue;
        pthread_mutex_lock(&t->lock);
        int pending = t->pending, busy = t->written != NULL;
        pthread_mutex_unlock(&t->lock);
        if (pending && busy)
            rc = -ENOTEMPTY;
        if (pending && !busy) {
            /* Hidden, not freed: a FUSE thread may still hold the pointer. */
            t->hidden = 1;
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&fs->lock);
    if (rc == -EPERM)
        log_error("rmdir %s refused: ddbfs never deletes DynamoDB tables", name);
    return rc;
}

int fs_table_create(struct fs_table *t, json_t *doc, const char *file)
{
    struct fs *fs = t->fs;
    struct ddb_error err;
    ddb_error_clear(&err);
    char ctx[600];
    snprintf(ctx, sizeof ctx, "creating table %s from %s", t->name, file);
    json_object_set_new(doc, "TableName", json_string(t->name));
    if (ddb_create_table(fs->client, doc, &err) != 0 && err.code != DDB_EINUSE)
        return fs_errno_from_ddb(&err, ctx);
    log_info("%s: CreateTable sent, waiting until the table is ACTIVE", t->name);
    if (ddb_wait_active(fs->client, t->name, FS_CREATE_WAIT_MS, &err) != 0)
        return fs_errno_from_ddb(&err, ctx);
    pthread_mutex_lock(&t->lock);
    t->pending = 0;
    t->created_here = 1;
    pthread_mutex_unlock(&t->lock);
    int rc = fs_table_describe(t);
    if (rc == 0)
        log_info("%s: table created from %s", t->name, file);
    return rc;
}

int fs_table_check_schema(struct fs_table *t, const json_t *doc, const char *file)
{
    int rc = fs_table_describe(t);
    if (rc)
        return rc;
    json_t *mine = json_loadb(t->schema, t->schema_len, 0, NULL);
    char msg[DDB_ERRMSG_MAX] = "";
    int same = mine && fs_schema_keys_match(doc, mine, msg, sizeof msg);
    json_decref(mine);
    if (same)
        return 0;
    log_error("%s: its key schema does not match table %s (%s); the table was not changed, and "
              "its data would not fit: restore into a new directory instead",
              file, t->name, msg);
    return -EIO;
}

void fs_table_invalidate(struct fs_table *t)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/", t->name);
    cache_store_invalidate(t->fs->cache, prefix);
    pthread_mutex_lock(&t->lock);
    t->prefetched_at = 0;
    pthread_mutex_unlock(&t->lock);
}


int fs_table_restoring(struct fs_table *t)
{
    pthread_mutex_lock(&t->lock);
    int r = t->created_here &&
            (t->uploads > 0 || clock_mono() - t->last_upload < FS_WRITTEN_TTL_S);
    pthread_mutex_unlock(&t->lock);
    return r;
}

void fs_table_upload_count(struct fs_table *t, int delta)
{
    pthread_mutex_lock(&t->lock);
    t->uploads += delta;
    t->last_upload = clock_mono();
    pthread_mutex_unlock(&t->lock);
}
