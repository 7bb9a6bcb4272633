/* Just-written files: metadata only. Their bytes went to the table; what stays is what rsync and
 * tar look at after writing (size, mode, times) and what they do next (rename, chmod, utimens). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/fs.h"
#include "base/clock.h"


static int expired(const struct fs_written *w, double now)
{
    return w->writers == 0 && !w->pinned && now - w->changed >= FS_WRITTEN_TTL_S;
}

static void retire(struct fs_table *t, struct fs_written *w);

/* Under lock: forgets entries that have expired. */
static void expire(struct fs_table *t)
{
    double now = clock_mono();
    for (struct fs_written *w = t->written, *next; w; w = next) {
        next = w->next;
        if (expired(w, now))
            retire(t, w);
    }
}

static struct fs_written *find(struct fs_table *t, const char *name)
{
    expire(t);
    for (struct fs_written *w = t->written; w; w = w->next)
        if (strcmp(w->name, name) == 0)
            return w;
    return NULL;
}

/* Under lock: takes w off the visible list (kept on `removed`, handles may point at it). */
static void retire(struct fs_table *t, struct fs_written *w)
{
    for (struct fs_written **p = &t->written; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    t->nwritten--;
    w->removed = 1;
    w->next = t->removed;
    t->removed = w;
}

/* Under lock: forgets the oldest entries nobody writes when there are too many. */
static void trim(struct fs_table *t)
{
    while (t->nwritten > FS_WRITTEN_MAX) {
        struct fs_written *oldest = NULL;
        for (struct fs_written *w = t->written; w; w = w->next)
            if (!w->writers)
                oldest = w;
        if (!oldest)
            return;
        retire(t, oldest);
    }
}

static void now_ts(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

static void touch(struct fs_written *w)
{
    w->changed = clock_mono();
}

int fs_written_stat(struct fs_table *t, const char *name, struct stat *st)
{
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, name);
    if (w) {
        st->st_mode = S_IFREG | (w->mode & 07777);
        st->st_nlink = 1;
        st->st_size = w->size;
        st->st_blocks = (w->size + 511) / 512;
        st->st_uid = w->uid;
        st->st_gid = w->gid;
        st->st_atim = w->mtime;
        st->st_mtim = w->mtime;
        st->st_ctim = w->ctime;
    }
    pthread_mutex_unlock(&t->lock);
    return w ? 0 : -ENOENT;
}

struct fs_written *fs_written_open(struct fs_table *t, const char *name, mode_t mode, uid_t uid,
                                   gid_t gid)
{
    struct fs_written *w = calloc(1, sizeof *w);
    if (!w || !(w->name = strdup(name))) {
        free(w);
        return NULL;
    }
    w->mode = mode & 07777;
    w->uid = uid;
    w->gid = gid;
    w->writers = 1;
    touch(w);
    now_ts(&w->mtime);
    w->ctime = w->mtime;
    pthread_mutex_lock(&t->lock);
    struct fs_written *old = find(t, name);
    if (old)
        retire(t, old);
    w->next = t->written;
    t->written = w;
    t->nwritten++;
    trim(t);
    pthread_mutex_unlock(&t->lock);
    return w;
}

void fs_written_grow(struct fs_table *t, struct fs_written *w, off_t size)
{
    pthread_mutex_lock(&t->lock);
    if (size > w->size)
        w->size = size;
    touch(w);
    now_ts(&w->mtime);
    w->ctime = w->mtime;
    pthread_mutex_unlock(&t->lock);
}

void fs_written_close(struct fs_table *t, struct fs_written *w)
{
    pthread_mutex_lock(&t->lock);
    w->writers--;
    touch(w);
    pthread_mutex_unlock(&t->lock);
}

void fs_written_pin(struct fs_table *t, struct fs_written *w, int pinned)
{
    pthread_mutex_lock(&t->lock);
    w->pinned = pinned;
    touch(w);
    pthread_mutex_unlock(&t->lock);
}

int fs_written_rename(struct fs_table *t, const char *from, const char *to)
{
    char *name = strdup(to);
    if (!name)
        return -ENOMEM;
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, from);
    int rc = -ENOENT;
    if (w) {
        struct fs_written *old = find(t, to);
        if (old && old != w)
            retire(t, old);
        free(w->name);
        w->name = name;
        name = NULL;
        touch(w);
        now_ts(&w->ctime);
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
    free(name);
    return rc;
}

int fs_written_unlink(struct fs_table *t, const char *name)
{
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, name);
    if (w)
        retire(t, w);
    pthread_mutex_unlock(&t->lock);
    return w ? 0 : -ENOENT;
}

int fs_written_chmod(struct fs_table *t, const char *name, mode_t mode)
{
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, name);
    if (w) {
        w->mode = mode & 07777;
        touch(w);
        now_ts(&w->ctime);
    }
    pthread_mutex_unlock(&t->lock);
    return w ? 0 : -ENOENT;
}

int fs_written_chown(struct fs_table *t, const char *name, uid_t uid, gid_t gid)
{
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, name);
    if (w) {
        if (uid != (uid_t)-1)
            w->uid = uid;
        if (gid != (gid_t)-1)
            w->gid = gid;
        touch(w);
        now_ts(&w->ctime);
    }
    pthread_mutex_unlock(&t->lock);
    return w ? 0 : -ENOENT;
}

static void set_time(struct timespec *dst, const struct timespec *src)
{
    if (src->tv_nsec == UTIME_OMIT)
        return;
    if (src->tv_nsec == UTIME_NOW)
        now_ts(dst);
    else
        *dst = *src;
}

int fs_written_utimens(struct fs_table *t, const char *name, const struct timespec tv[2])
{
    pthread_mutex_lock(&t->lock);
    struct fs_written *w = find(t, name);
    if (w) {
        struct timespec atime = w->mtime;
        if (tv) {
            set_time(&atime, &tv[0]);
            set_time(&w->mtime, &tv[1]);
        } else {
            now_ts(&w->mtime);
        }
        touch(w);
        now_ts(&w->ctime);
    }
    pthread_mutex_unlock(&t->lock);
    return w ? 0 : -ENOENT;
}

void fs_written_list(struct fs_table *t, void (*fn)(const char *name, void *ud), void *ud)
{
    pthread_mutex_lock(&t->lock);
    expire(t);
    for (struct fs_written *w = t->written; w; w = w->next)
        fn(w->name, ud);
    pthread_mutex_unlock(&t->lock);
}

static void free_list(struct fs_written *w)
{
    while (w) {
        struct fs_written *next = w->next;
        free(w->name);
        free(w);
        w = next;
    }
}

void fs_written_free_all(struct fs_table *t)
{
    free_list(t->written);
    free_list(t->removed);
    t->written = t->removed = NULL;
    t->nwritten = 0;
}
