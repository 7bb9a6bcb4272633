/* The FUSE operations: thin, as in sshfs. Each parses the path, finds the handle and calls one
 * function of tables.c or segment.c. */
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

enum kind { K_ROOT, K_TABLE, K_SCHEMA, K_TTL, K_SEGMENT };

struct handle {
    enum kind kind;
    struct fs_table *t;
    unsigned seg;
    struct cache_entry *e;
};

static struct fs *get_fs(void)
{
    return fuse_get_context()->private_data;
}

/* Resolves path. Returns the kind, or a negative errno. */
static int resolve(struct fs *fs, const char *path, struct fs_table **tp, unsigned *seg)
{
    if (strcmp(path, "/") == 0)
        return K_ROOT;
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
    *tp = t;
    if (!slash)
        return K_TABLE;
    const char *file = slash + 1;
    if (strchr(file, '/'))
        return -ENOENT;
    int rc = fs_table_describe(t);
    if (rc)
        return rc;
    if (strcmp(file, FS_SCHEMA_NAME) == 0)
        return K_SCHEMA;
    if (strcmp(file, FS_TTL_NAME) == 0)
        return t->ttl ? K_TTL : -ENOENT;
    long i = fs_segment_parse(t, file);
    if (i < 0)
        return -ENOENT;
    *seg = (unsigned)i;
    return K_SEGMENT;
}

static void prefetch(struct fs_table *t)
{
    double now = ddb_client_now(t->fs->client);
    pthread_mutex_lock(&t->lock);
    int due = now - t->prefetched_at >= PREFETCH_EVERY_S || t->prefetched_at == 0;
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

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fs *fs = get_fs();
    memset(st, 0, sizeof *st);
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    struct fs_table *t = NULL;
    unsigned seg = 0;
    int k = resolve(fs, path, &t, &seg);
    if (k < 0)
        return k;
    switch (k) {
    case K_ROOT:
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        fill_times(st, fs->mounted);
        return 0;
    case K_TABLE:
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        fill_times(st, t->described ? t->created : fs->mounted);
        return 0;
    case K_SCHEMA:
    case K_TTL:
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)(k == K_TTL ? t->ttl_len : t->schema_len);
        st->st_blocks = (st->st_size + 511) / 512;
        fill_times(st, t->created);
        return 0;
    default: {
        struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
        struct cache_entry *e = h && h->e ? h->e : NULL;
        int rc = 0;
        int own = !e;
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
    }
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct fs *fs = get_fs();
    struct fs_table *t = NULL;
    unsigned seg;
    int k = resolve(fs, path, &t, &seg);
    if (k < 0)
        return k;
    if (k != K_ROOT && k != K_TABLE)
        return -ENOTDIR;
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    if (k == K_ROOT) {
        int rc = fs_tables_refresh(fs, 0);
        if (rc)
            return rc;
        pthread_mutex_lock(&fs->lock);
        size_t n = fs->ntables;
        char **names = calloc(n ? n : 1, sizeof *names);
        for (size_t i = 0; names && i < n; i++)
            names[i] = strdup(fs->tables[i]->name);
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
    int rc = fs_table_describe(t);
    if (rc)
        return rc;
    prefetch(t);
    filler(buf, FS_SCHEMA_NAME, NULL, 0, 0);
    if (t->ttl)
        filler(buf, FS_TTL_NAME, NULL, 0, 0);
    for (unsigned i = 0; i < t->nseg; i++) {
        char name[96];
        fs_segment_name(t, i, name, sizeof name);
        if (filler(buf, name, NULL, 0, 0))
            break;
    }
    return 0;
}

static int read_only(const char *what, const char *path)
{
    log_warn("%s %s refused: writing is not supported yet (restore comes with a later version); "
             "the mount is read-only",
             what, path);
    return -EROFS;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct fs *fs = get_fs();
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return read_only("opening for writing", path);
    struct fs_table *t = NULL;
    unsigned seg = 0;
    int k = resolve(fs, path, &t, &seg);
    if (k < 0)
        return k;
    if (k == K_ROOT || k == K_TABLE)
        return -EISDIR;
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->kind = (enum kind)k;
    h->t = t;
    h->seg = seg;
    if (k == K_SEGMENT) {
        int rc = 0;
        prefetch(t);
        h->e = fs_segment_acquire(t, seg, &rc);
        if (!h->e) {
            free(h);
            return rc;
        }
        uint64_t size;
        time_t mtime;
        rc = fs_segment_wait(t, seg, h->e, &size, &mtime);
        if (rc) {
            cache_entry_release(h->e);
            free(h);
            return rc;
        }
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->keep_cache = 0;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    if (h->kind == K_SCHEMA || h->kind == K_TTL) {
        const char *doc = h->kind == K_TTL ? h->t->ttl : h->t->schema;
        size_t len = h->kind == K_TTL ? h->t->ttl_len : h->t->schema_len;
        if ((size_t)off >= len)
            return 0;
        size_t n = len - (size_t)off < size ? len - (size_t)off : size;
        memcpy(buf, doc + off, n);
        return (int)n;
    }
    ssize_t n = cache_entry_read(h->e, buf, size, (uint64_t)off);
    if (n < 0) {
        int e = errno;
        log_error("reading %s at %lld: %s", path, (long long)off, strerror_r(e, (char[128]){0}, 128));
        return -EIO;
    }
    return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    if (h) {
        cache_entry_release(h->e);
        free(h);
    }
    return 0;
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
    sv->f_namemax = 255;
    return 0;
}

/* Writes are refused until restore lands. */
static int op_create(const char *path, mode_t m, struct fuse_file_info *fi)
{
    return read_only("creating", path);
}
static int op_mkdir(const char *path, mode_t m)
{
    return read_only("mkdir", path);
}
static int op_unlink(const char *path)
{
    return read_only("unlink", path);
}
static int op_rmdir(const char *path)
{
    return read_only("rmdir", path);
}
static int op_rename(const char *from, const char *to, unsigned int flags)
{
    return read_only("rename", from);
}
static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    return read_only("truncate", path);
}
static int op_write(const char *path, const char *b, size_t n, off_t off, struct fuse_file_info *fi)
{
    return read_only("write", path);
}
static int op_chmod(const char *path, mode_t m, struct fuse_file_info *fi)
{
    return read_only("chmod", path);
}
static int op_chown(const char *path, uid_t u, gid_t g, struct fuse_file_info *fi)
{
    return read_only("chown", path);
}
static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    return read_only("setting times of", path);
}
static int op_symlink(const char *to, const char *path)
{
    return read_only("symlink", path);
}
static int op_link(const char *from, const char *to)
{
    return read_only("link", to);
}
static int op_mknod(const char *path, mode_t m, dev_t d)
{
    return read_only("mknod", path);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct fs *fs = get_fs();
    cfg->use_ino = 0;
    cfg->nullpath_ok = 0;
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0;
    fs_start_io(fs);
    return fs;
}

static void op_destroy(void *private_data)
{
    fs_stop_io(private_data);
}

const struct fuse_operations fs_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .statfs = op_statfs,
    .create = op_create,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .truncate = op_truncate,
    .write = op_write,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .symlink = op_symlink,
    .link = op_link,
    .mknod = op_mknod,
};
