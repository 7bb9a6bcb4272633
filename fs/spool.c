/* Data files written into a new table's directory before its _schema.json (GNU cp copies in
 * inode order): their bytes wait in a spool file (0600) under the cache directory, and the
 * schema's close() stores them once it has created the table. See fs/upload.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/upload.h"

int fs_spool_open(struct fs_upload *u)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/spool", u->fs->cache_dir);
    mkdir(dir, 0700);
    chmod(dir, 0700);
    static const char safe[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    char name[600];
    size_t o = 0;
    for (const char *p = u->path; *p && o + 1 < sizeof name; p++)
        name[o++] = strchr(safe, *p) ? *p : '_';
    name[o] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (asprintf(&u->spool_path, "%s/%s.%lld.%09ld.spool", dir, name, (long long)ts.tv_sec,
                 ts.tv_nsec) < 0) {
        u->spool_path = NULL;
        return -ENOMEM;
    }
    u->spool_fd = open(u->spool_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (u->spool_fd < 0) {
        char eb[128];
        log_error("%s: cannot keep it until the table's _schema.json comes: %s: %s", u->path,
                  u->spool_path, strerror_r(errno, eb, sizeof eb));
        return -EIO;
    }
    fchmod(u->spool_fd, 0600);
    return 0;
}

int fs_spool_write(struct fs_upload *u, const char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(u->spool_fd, buf + done, size - done, u->offset + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            char eb[128];
            log_error("%s: writing %s: %s", u->path, u->spool_path,
                      strerror_r(errno, eb, sizeof eb));
            return -EIO;
        }
        done += (size_t)w;
    }
    return 0;
}

/* At close: the bytes are on disk; the file waits for the schema in the table's spool list. */
int fs_spool_close(struct fs_upload *u)
{
    if (fsync(u->spool_fd) != 0) {
        char eb[128];
        log_error("%s: %s: %s", u->path, u->spool_path, strerror_r(errno, eb, sizeof eb));
        return -EIO;
    }
    if (u->spool_done)
        return 0;
    struct fs_spooled *sp = calloc(1, sizeof *sp);
    const char *slash = strchr(u->path, '/');
    if (!sp || !(sp->name = strdup(slash ? slash + 1 : u->path))) {
        free(sp);
        return -ENOMEM;
    }
    sp->path = u->spool_path;
    u->spool_path = NULL;
    sp->entry = u->entry;
    if (sp->entry)
        fs_written_pin(u->t, sp->entry, 1);
    pthread_mutex_lock(&u->t->lock);
    struct fs_spooled **tail = &u->t->spooled;
    while (*tail)
        tail = &(*tail)->next;
    *tail = sp;
    pthread_mutex_unlock(&u->t->lock);
    u->spool_done = 1;
    log_info("%s: kept until %s/_schema.json creates the table (its items are stored then)",
             u->path, u->t->name);
    return 0;
}

/* After the schema created the table: stores every file that was waiting for it, in order.
 * 0, or -EIO when some item of them could not be stored (each logged, as for any restore). */
int fs_spool_replay(struct fs_table *t, const char *schema_path)
{
    pthread_mutex_lock(&t->lock);
    struct fs_spooled *list = t->spooled;
    t->spooled = NULL;
    pthread_mutex_unlock(&t->lock);
    int failed = 0, n = 0;
    char *chunk = malloc(1u << 20);
    for (struct fs_spooled *sp = list, *next; sp; sp = next) {
        next = sp->next;
        n++;
        int rc = chunk ? 0 : -ENOMEM;
        struct fs_upload *u = rc ? NULL : fs_upload_open(t, sp->name, &rc);
        int fd = u ? open(sp->path, O_RDONLY | O_CLOEXEC) : -1;
        if (u && fd < 0) {
            char eb[128];
            log_error("%s/%s: cannot read %s: %s", t->name, sp->name, sp->path,
                      strerror_r(errno, eb, sizeof eb));
            rc = -EIO;
        }
        off_t off = 0;
        ssize_t got;
        while (!rc && (got = read(fd, chunk, 1u << 20)) > 0) {
            int w = fs_upload_write(u, chunk, (size_t)got, off);
            rc = w < 0 ? w : 0;
            off += got;
        }
        if (!rc && u)
            rc = fs_upload_flush(u, 1);
        if (fd >= 0)
            close(fd);
        fs_upload_release(u);
        if (rc)
            failed++;
        else
            unlink(sp->path);
        if (sp->entry)
            fs_written_pin(t, sp->entry, 0);
        free(sp->name);
        free(sp->path);
        free(sp);
    }
    free(chunk);
    if (failed) {
        log_error("%s: the table was created, but %d of the %d files written before it could not "
                  "be stored whole (see above)",
                  schema_path, failed, n);
        return -EIO;
    }
    if (n)
        log_info("%s: stored the %d file%s written before it", schema_path, n, n == 1 ? "" : "s");
    return 0;
}
