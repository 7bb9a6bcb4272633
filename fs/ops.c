/* The FUSE operations: thin, as in sshfs. Each resolves the path, finds the handle and calls one
 * function of tables.c, segment.c, written.c or upload.c. */
#define FUSE_USE_VERSION 312
#include "fs/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "fs/fs.h"

#define PREFETCH_EVERY_S 5.0

enum kind { K_ROOT, K_TABLE, K_FILE };

/* What a path names. */
struct where {
    enum kind kind;
    struct fs_table *t; /* K_TABLE, K_FILE */
    const char *file;   /* K_FILE: the name inside the table directory (points into the path) */
};

enum handle_kind { H_DOC, H_SEGMENT, H_UPLOAD, H_WRITTEN };

struct handle {
    enum handle_kind kind;
    struct fs_table *t;
    const char *doc; /* H_DOC: _schema.json, _ttl.json or the manifest */
    size_t doc_len;
    struct cache_entry *e; /* H_SEGMENT */
    struct fs_upload *u;   /* H_UPLOAD */
    struct handle *next_open, *prev_open; /* fs->open_handles, under fs->lock */
    char *owned;           /* H_DOC: the manifest's text (doc points at it) */
};

/* Every handle given to FUSE is on fs->open_handles until its release, so that destroy can free
 * the ones whose release never came (after a lazy unmount, the kernel does not wait for them). */
static void attach(struct fuse_file_info *fi, struct handle *h)
{
    struct fs *fs = fuse_get_context()->private_data;
    pthread_mutex_lock(&fs->lock);
    h->prev_open = NULL;
    h->next_open = fs->open_handles;
    if (h->next_open)
        h->next_open->prev_open = h;
    fs->open_handles = h;
    pthread_mutex_unlock(&fs->lock);
    fi->fh = (uint64_t)(uintptr_t)h;
}

static void detach(struct fs *fs, struct handle *h)
{
    pthread_mutex_lock(&fs->lock);
    if (h->prev_open)
        h->prev_open->next_open = h->next_open;
    else
        fs->open_handles = h->next_open;
    if (h->next_open)
        h->next_open->prev_open = h->prev_open;
    pthread_mutex_unlock(&fs->lock);
}

static struct fs *get_fs(void)
{
    return fuse_get_context()->private_data;
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
    return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* Resolves the directory part of path. Returns 0 or a negative errno. */
static int resolve(struct fs *fs, const char *path, struct where *w)
{
    memset(w, 0, sizeof *w);
    if (strcmp(path, "/") == 0) {
        w->kind = K_ROOT;
        return 0;
    }
    const char *name = path + 1;
    const char *slash = strchr(name, '/');
    char tname[256];
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    if (len == 0 || len >= sizeof tname)
        return -ENOENT;
    memcpy(tname, name, len);
    tname[len] = '\0';
    struct fs_table *t = fs_table_find(fs, tname);
    if (!t) {
        int rc = fs_tables_refresh(fs, 0);
        if (rc)
            return rc;
        t = fs_table_find(fs, tname);
        if (!t)
            return -ENOENT;
    }
    w->t = t;
    if (!slash) {
        w->kind = K_TABLE;
        return 0;
    }
    w->file = slash + 1;
    if (!*w->file || strchr(w->file, '/'))
        return -ENOENT;
    w->kind = K_FILE;
    return 0;
}

/* Resolves a path that must name a file in a table directory: 0, -EISDIR, or resolve's errno. */
static int resolve_file(const char *path, struct where *w)
{
    int rc = resolve(get_fs(), path, w);
    if (rc)
        return rc;
    return w->kind == K_FILE ? 0 : -EISDIR;
}

/* What a file name in a described table's directory is: a document, a segment, or nothing. */
enum file_kind { F_NONE, F_SCHEMA, F_TTL, F_SEGMENT, F_MANIFEST };

static enum file_kind file_kind(struct fs_table *t, const char *file, unsigned *seg)
{
    if (strcmp(file, FS_SCHEMA_NAME) == 0)
        return F_SCHEMA;
    if (strcmp(file, FS_TTL_NAME) == 0)
        return t->ttl ? F_TTL : F_NONE;
    char manifest[FS_MANIFEST_NAME_MAX];
    fs_manifest_name(t->fs->opts.shard_k, t->fs->opts.shard_m, manifest, sizeof manifest);
    if (strcmp(file, manifest) == 0)
        return F_MANIFEST;
    long i = fs_segment_parse(t, file);
    if (i < 0)
        return F_NONE;
    *seg = (unsigned)i;
    return F_SEGMENT;
}

static int is_pending(struct fs_table *t)
{
    pthread_mutex_lock(&t->lock);
    int p = t->pending;
    pthread_mutex_unlock(&t->lock);
    return p;
}

/* Which of the table's own files w names (not a just-written one): a file kind, or a negative
 * errno. A pending table, or one being restored, shows none of its own. */
static int own_file(struct where *w, unsigned *seg)
{
    if (is_pending(w->t) || fs_table_restoring(w->t))
        return -ENOENT;
    int rc = fs_table_describe(w->t);
    if (rc)
        return rc;
    enum file_kind k = file_kind(w->t, w->file, seg);
    return k == F_NONE ? -ENOENT : (int)k;
}

static void prefetch(struct fs_table *t)
{
    double now = ddb_client_now(t->fs->client);
    pthread_mutex_lock(&t->lock);
    int due = t->prefetched_at == 0 || now - t->prefetched_at >= PREFETCH_EVERY_S;
    if (due)
        t->prefetched_at = now;
    pthread_mutex_unlock(&t->lock);
    if (due)
        fs_table_prefetch(t);
}

static void fill_times(struct stat *st, time_t t)
{
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

static int stat_segment(struct fs_table *t, unsigned seg, struct handle *h, struct stat *st)
{
    struct cache_entry *e = h && h->kind == H_SEGMENT ? h->e : NULL;
    int rc = 0, own = !e;
    if (own) {
        prefetch(t);
        e = fs_segment_acquire(t, seg, &rc);
        if (!e)
            return rc;
    }
    uint64_t size;
    time_t mtime;
    rc = fs_segment_wait(t, seg, e, &size, &mtime);
    if (own)
        cache_entry_release(e);
    if (rc)
        return rc;
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)size;
    st->st_blocks = (st->st_size + 511) / 512;
    fill_times(st, mtime);
    return 0;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fs *fs = get_fs();
    memset(st, 0, sizeof *st);
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    struct where w;
    int rc = resolve(fs, path, &w);
    if (rc)
        return rc;
    if (w.kind == K_ROOT || w.kind == K_TABLE) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        fill_times(st, w.kind == K_ROOT ? fs->mounted : w.t->created ? w.t->created : fs->mounted);
        return 0;
    }
    /* A file just written shadows what the table shows under that name. */
    if (fs_written_stat(w.t, w.file, st) == 0)
        return 0;
    unsigned seg = 0;
    int k = own_file(&w, &seg);
    if (k < 0)
        return k;
    switch (k) {
    case F_SCHEMA:
    case F_TTL: {
        int ttl = strcmp(w.file, FS_TTL_NAME) == 0;
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)(ttl ? w.t->ttl_len : w.t->schema_len);
        st->st_blocks = (st->st_size + 511) / 512;
        fill_times(st, w.t->created);
        return 0;
    }
    case F_MANIFEST: {
        char *text = NULL;
        size_t len = 0;
        time_t mtime = 0;
        prefetch(w.t);
        if ((rc = fs_manifest_build(w.t, &text, &len, &mtime)))
            return rc;
        free(text);
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)len;
        st->st_blocks = (st->st_size + 511) / 512;
        fill_times(st, mtime);
        return 0;
    }
    default:
        return stat_segment(w.t, seg, handle_of(fi), st);
    }
}

struct lister {
    void *buf;
    fuse_fill_dir_t filler;
    struct fs_table *t;
    int listed; /* the table's own files were listed: skip written files of the same names */
};

static void list_written(const char *name, void *ud)
{
    struct lister *l = ud;
    unsigned seg;
    if (l->listed && file_kind(l->t, name, &seg) != F_NONE)
        return; /* already listed as the table's own */
    l->filler(l->buf, name, NULL, 0, 0);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct fs *fs = get_fs();
    struct where w;
    int rc = resolve(fs, path, &w);
    if (rc)
        return rc;
    if (w.kind == K_FILE)
        return -ENOTDIR;
    /* Describe first, so that a table deleted meanwhile is ENOENT, not an empty listing. */
    if (w.kind == K_TABLE && !is_pending(w.t) && !fs_table_restoring(w.t) &&
        (rc = fs_table_describe(w.t)))
        return rc;
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    if (w.kind == K_ROOT) {
        if ((rc = fs_tables_refresh(fs, 0)))
            return rc;
        pthread_mutex_lock(&fs->lock);
        size_t n = fs->ntables;
        char **names = calloc(n ? n : 1, sizeof *names);
        for (size_t i = 0; names && i < n; i++)
            names[i] = fs->tables[i]->hidden ? NULL : strdup(fs->tables[i]->name);
        pthread_mutex_unlock(&fs->lock);
        if (!names)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            if (names[i])
                filler(buf, names[i], NULL, 0, 0);
            free(names[i]);
        }
        free(names);
        return 0;
    }
    struct lister l = {buf, filler, w.t, 0};
    if (!is_pending(w.t) && !fs_table_restoring(w.t)) {
        if ((rc = fs_table_describe(w.t)))
            return rc;
        l.listed = 1;
        prefetch(w.t);
        filler(buf, FS_SCHEMA_NAME, NULL, 0, 0);
        if (w.t->ttl)
            filler(buf, FS_TTL_NAME, NULL, 0, 0);
        for (unsigned i = 0; i < w.t->nseg; i++) {
            char name[96];
            if (!fs_opts_shard_owns(&w.t->fs->opts, i))
                continue;
            fs_segment_name(w.t, i, name, sizeof name);
            filler(buf, name, NULL, 0, 0);
        }
        char manifest[FS_MANIFEST_NAME_MAX];
        fs_manifest_name(w.t->fs->opts.shard_k, w.t->fs->opts.shard_m, manifest, sizeof manifest);
        filler(buf, manifest, NULL, 0, 0); /* last: copy tools reach it after the segments */
    }
    fs_written_list(w.t, list_written, &l);
    return 0;
}

/* ---- writing ---- */

static int start_upload(struct fs_table *t, const char *file, mode_t mode,
                        struct fuse_file_info *fi)
{
    int rc = 0;
    struct fs_upload *u = fs_upload_open(t, file, &rc);
    if (!u)
        return rc;
    struct fuse_context *cx = fuse_get_context();
    struct fs_written *wr = fs_written_open(t, file, mode, cx->uid, cx->gid);
    struct handle *h = wr ? calloc(1, sizeof *h) : NULL;
    if (!h) {
        if (wr)
            fs_written_close(t, wr);
        fs_upload_release(u);
        return -ENOMEM;
    }
    fs_upload_attach(u, wr);
    h->kind = H_UPLOAD;
    h->t = t;
    h->u = u;
    attach(fi, h);
    fi->direct_io = 1; /* nothing to cache: the bytes go to the table */
    return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs *fs = get_fs();
    struct where w;
    int rc = resolve(fs, path, &w);
    if (rc == -ENOENT && strchr(path + 1, '/') == NULL) {
        log_error("creating %s refused: only table directories are at the top of the mount", path);
        return -EPERM;
    }
    if (rc)
        return rc;
    if (w.kind != K_FILE)
        return -EEXIST;
    return start_upload(w.t, w.file, mode, fi);
}

static int open_doc(struct fs_table *t, const char *file, struct fuse_file_info *fi)
{
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->kind = H_DOC;
    h->t = t;
    int ttl = strcmp(file, FS_TTL_NAME) == 0;
    h->doc = ttl ? t->ttl : t->schema;
    h->doc_len = ttl ? t->ttl_len : t->schema_len;
    attach(fi, h);
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct where w;
    int rc = resolve_file(path, &w);
    if (rc)
        return rc;
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        struct stat st;
        mode_t mode = fs_written_stat(w.t, w.file, &st) == 0 ? st.st_mode : 0644;
        return start_upload(w.t, w.file, mode, fi);
    }
    struct stat st;
    if (fs_written_stat(w.t, w.file, &st) == 0) {
        /* Allowed (rsync opens its temp file to fchmod it); reading it fails (op_read). */
        struct handle *h = calloc(1, sizeof *h);
        if (!h)
            return -ENOMEM;
        h->kind = H_WRITTEN;
        h->t = w.t;
        attach(fi, h);
        fi->direct_io = 1;
        return 0;
    }
    unsigned seg = 0;
    int k = own_file(&w, &seg);
    if (k < 0)
        return k;
    if (k == F_MANIFEST) {
        struct handle *h = calloc(1, sizeof *h);
        size_t len = 0;
        time_t mtime;
        if (!h)
            return -ENOMEM;
        if ((rc = fs_manifest_build(w.t, &h->owned, &len, &mtime))) {
            free(h);
            return rc;
        }
        h->kind = H_DOC;
        h->t = w.t;
        h->doc = h->owned;
        h->doc_len = len;
        fi->fh = (uint64_t)(uintptr_t)h;
        return 0;
    }
    if (k != F_SEGMENT)
        return open_doc(w.t, w.file, fi);
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->kind = H_SEGMENT;
    h->t = w.t;
    prefetch(w.t);
    h->e = fs_segment_acquire(w.t, seg, &rc);
    if (h->e) {
        uint64_t size;
        time_t mtime;
        rc = fs_segment_wait(w.t, seg, h->e, &size, &mtime);
    }
    if (rc) {
        cache_entry_release(h->e);
        free(h);
        return rc;
    }
    attach(fi, h);
    fi->keep_cache = 0;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    if (h->kind == H_UPLOAD)
        return -EBADF;
    if (h->kind == H_WRITTEN) {
        log_error("reading %s: the bytes of a file written into a table are not kept (its items "
                  "are in the table); read the table's segment files instead",
                  path);
        return -EIO;
    }
    if (h->kind == H_DOC) {
        if ((size_t)off >= h->doc_len)
            return 0;
        size_t n = h->doc_len - (size_t)off < size ? h->doc_len - (size_t)off : size;
        memcpy(buf, h->doc + off, n);
        return (int)n;
    }
    ssize_t n = cache_entry_read(h->e, buf, size, (uint64_t)off);
    if (n < 0) {
        char eb[128];
        log_error("reading %s at byte %lld: %s", path, (long long)off,
                  strerror_r(errno, eb, sizeof eb));
        return -EIO;
    }
    return (int)n;
}

/* A segment's bytes go from the snapshot file to the kernel without passing through our memory:
 * libfuse splices them from the descriptor (FUSE_CAP_SPLICE_WRITE) or, without splice, preads
 * them into its own buffer. Everything else is read by op_read. */
static int op_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    int fd = h && h->kind == H_SEGMENT ? cache_entry_fd(h->e) : -1;
    struct fuse_bufvec *bv = malloc(sizeof *bv);
    if (!bv)
        return -ENOMEM;
    *bv = FUSE_BUFVEC_INIT(size);
    if (fd >= 0) {
        bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
        bv->buf[0].fd = fd;
        bv->buf[0].pos = off;
        *bufp = bv;
        return 0;
    }
    bv->buf[0].mem = size ? malloc(size) : NULL;
    if (size && !bv->buf[0].mem) {
        free(bv);
        return -ENOMEM;
    }
    int n = op_read(path, bv->buf[0].mem, size, off, fi);
    if (n < 0) {
        free(bv->buf[0].mem);
        free(bv);
        return n;
    }
    bv->buf[0].size = (size_t)n;
    *bufp = bv;
    return 0;
}

static int op_write(const char *path, const char *b, size_t n, off_t off,
                    struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    if (!h || h->kind != H_UPLOAD)
        return -EBADF;
    return fs_upload_write(h->u, b, n, off);
}

/* close(): every close of a file being written is, for ddbfs, its end so far. */
static int op_flush(const char *path, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    return h && h->kind == H_UPLOAD ? fs_upload_flush(h->u, 1) : 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    return h && h->kind == H_UPLOAD ? fs_upload_flush(h->u, 0) : 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    if (!h)
        return 0;
    if (h->kind == H_SEGMENT)
        cache_entry_release(h->e);
    detach(get_fs(), h);
    if (h->kind == H_UPLOAD)
        fs_upload_release(h->u);
    free(h->owned);
    free(h);
    return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    if (h && h->kind == H_UPLOAD)
        return fs_upload_truncate(h->u, size);
    struct where w;
    int rc = resolve_file(path, &w);
    if (rc)
        return rc;
    /* open(O_TRUNC) of a name the table shows (cp over a backup's file): nothing is deleted;
     * the file's new contents are written into the table. */
    if (size == 0)
        return 0;
    struct stat st;
    if (fs_written_stat(w.t, w.file, &st) == 0 && st.st_size == size)
        return 0;
    log_error("truncate %s to %lld bytes refused: items are never deleted", path, (long long)size);
    return -EPERM;
}

static int op_unlink(const char *path)
{
    struct where w;
    int rc = resolve_file(path, &w);
    if (rc)
        return rc;
    if (fs_written_unlink(w.t, w.file) == 0)
        return 0; /* a file written earlier: its items stay in the table */
    log_error("rm %s refused: ddbfs never deletes items or tables (to extract a tar archive over "
              "a table's files, use tar -x --overwrite)",
              path);
    return -EPERM;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    struct fs *fs = get_fs();
    struct where a, b;
    int rc = resolve(fs, from, &a);
    if (rc)
        return rc;
    if ((rc = resolve(fs, to, &b)) && rc != -ENOENT)
        return rc;
    if (flags & RENAME_EXCHANGE)
        return -EINVAL;
    if (a.kind != K_FILE || rc || b.kind != K_FILE || a.t != b.t) {
        log_error("rename %s to %s refused: only files just written can be renamed, within "
                  "their table directory",
                  from, to);
        return a.kind == K_FILE && !rc && b.kind == K_FILE ? -EXDEV : -EPERM;
    }
    if (fs_written_rename(a.t, a.file, b.file) == 0)
        return 0;
    log_error("rename %s refused: only files just written can be renamed", from);
    return -EPERM;
}

static int op_mkdir(const char *path, mode_t m)
{
    struct fs *fs = get_fs();
    const char *name = path + 1;
    if (strchr(name, '/')) {
        log_error("mkdir %s refused: table directories hold files only", path);
        return -EPERM;
    }
    return fs_table_add_pending(fs, name);
}

static int op_rmdir(const char *path)
{
    struct fs *fs = get_fs();
    const char *name = path + 1;
    if (strchr(name, '/'))
        return -ENOENT;
    if (!fs_table_find(fs, name))
        return -ENOENT;
    return fs_table_remove_pending(fs, name);
}

/* Metadata changes: kept for files just written, accepted (not stored) elsewhere, so that
 * rsync -a and tar -x can set what they set and exit 0. */
static int op_chmod(const char *path, mode_t m, struct fuse_file_info *fi)
{
    struct where w;
    int rc = resolve(get_fs(), path, &w);
    if (rc)
        return rc;
    if (w.kind == K_FILE)
        fs_written_chmod(w.t, w.file, m);
    return 0;
}

static int op_chown(const char *path, uid_t u, gid_t g, struct fuse_file_info *fi)
{
    struct where w;
    int rc = resolve(get_fs(), path, &w);
    if (rc)
        return rc;
    if (w.kind == K_FILE)
        fs_written_chown(w.t, w.file, u, g);
    return 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct where w;
    int rc = resolve(get_fs(), path, &w);
    if (rc)
        return rc;
    if (w.kind == K_FILE)
        fs_written_utimens(w.t, w.file, tv);
    return 0;
}

static int refuse(const char *what, const char *path)
{
    log_error("%s %s refused: a table directory holds regular files only", what, path);
    return -EPERM;
}
static int op_symlink(const char *to, const char *path)
{
    return refuse("symlink", path);
}
static int op_link(const char *from, const char *to)
{
    return refuse("link", to);
}
static int op_mknod(const char *path, mode_t m, dev_t d)
{
    return refuse("mknod", path);
}

/* Extended attributes: progress and checksums (progress.c), read-only. */
static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
    struct fs *fs = get_fs();
    struct where w;
    int rc = resolve(fs, path, &w);
    if (rc)
        return rc;
    return fs_progress_getxattr(fs, w.t, w.kind == K_FILE ? w.file : NULL, name, value, size);
}

static int op_listxattr(const char *path, char *list, size_t size)
{
    struct fs *fs = get_fs();
    struct where w;
    int rc = resolve(fs, path, &w);
    if (rc)
        return rc;
    return fs_progress_listxattr(fs, w.t, w.kind == K_FILE ? w.file : NULL, list, size);
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
                       int flags)
{
    return -ENOTSUP;
}

static int op_removexattr(const char *path, const char *name)
{
    return -ENOTSUP;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
    struct fs *fs = get_fs();
    struct cache_stats cs;
    cache_store_get_stats(fs->cache, &cs);
    memset(sv, 0, sizeof *sv);
    sv->f_bsize = sv->f_frsize = 4096;
    sv->f_blocks = cs.max_bytes / 4096;
    sv->f_bfree = sv->f_bavail = cs.max_bytes > cs.bytes ? (cs.max_bytes - cs.bytes) / 4096 : 0;
    sv->f_files = sv->f_ffree = 1000000;
    sv->f_namemax = 255;
    return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct fs *fs = get_fs();
    cfg->use_ino = 0;
    cfg->nullpath_ok = 0;
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0;
    /* open(O_TRUNC) arrives as one call, not a truncate before the open. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* Segment reads are spliced from the snapshot file (op_read_buf). */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
    fs_start_io(fs);
    return fs;
}

static void op_destroy(void *private_data)
{
    struct fs *fs = private_data;
    fs->cut_off = fs_uploads_unmount(fs); /* before the I/O stops: their items are stored first */
    for (struct handle *h = fs->open_handles, *next; h; h = next) { /* releases that never came */
        next = h->next_open;
        if (h->kind == H_SEGMENT)
            cache_entry_release(h->e);
        free(h); /* an upload's was ended by fs_uploads_unmount */
    }
    fs->open_handles = NULL;
    fs_stop_io(private_data);
}

const struct fuse_operations fs_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .read_buf = op_read_buf,
    .write = op_write,
    .flush = op_flush,
    .fsync = op_fsync,
    .release = op_release,
    .truncate = op_truncate,
    .unlink = op_unlink,
    .rename = op_rename,
    .mkdir = op_mkdir,
    .rmdir = op_rmdir,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .symlink = op_symlink,
    .link = op_link,
    .mknod = op_mknod,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
};
