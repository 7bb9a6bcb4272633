#include "cache/internal.h"

#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME ".lock"
#define BUCKETS_MIN 64

const char *cache_strerror(enum cache_err e)
{
    switch (e) {
    case CACHE_OK:
        return "success";
    case CACHE_ENOMEM:
        return "out of memory";
    case CACHE_EIO:
        return "local cache I/O error";
    case CACHE_ENOSPC:
        return "snapshot does not fit in the cache";
    case CACHE_EFAILED:
        return "snapshot failed";
    case CACHE_EINVAL:
        return "invalid argument";
    case CACHE_ESTATE:
        return "wrong snapshot state for the call";
    }
    return "unknown cache error";
}

/* ---- messages ---- */

void cache_msg_set(char *msg, size_t msglen, const char *fmt, ...)
{
    if (!msg || msglen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

void cache_msg_oserr(char *msg, size_t msglen, int err, const char *what,
                     const struct cache_store *s, const char *name, const char *suffix)
{
    char eb[256];
    const char *es = strerror_r(err, eb, sizeof eb);
    if (name)
        cache_msg_set(msg, msglen, "%s %s/%s%s: %s", what, s->dir, name, suffix, es);
    else
        cache_msg_set(msg, msglen, "%s %s: %s", what, s->dir, es);
}

/* ---- the index: a hash table by key, and the LRU list ---- */

static struct cache_entry **bucket(struct cache_store *s, uint64_t hash)
{
    return &s->buckets[hash & (s->nbuckets - 1)];
}

static struct cache_entry *index_find(struct cache_store *s, const char *key)
{
    uint64_t h = cache_name_hash(key, 0);
    for (struct cache_entry *e = *bucket(s, h); e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Doubles the table when it gets full; keeps the old one when memory is short. */
static void index_grow(struct cache_store *s)
{
    if ((size_t)s->entries < s->nbuckets || s->nbuckets > SIZE_MAX / 2 / sizeof *s->buckets)
        return;
    size_t n = s->nbuckets * 2;
    struct cache_entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct cache_entry *e = s->buckets[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

static void lru_remove(struct cache_store *s, struct cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_append(struct cache_store *s, struct cache_entry *e)
{
    e->prev = s->lru_tail;
    e->next = NULL;
    if (s->lru_tail)
        s->lru_tail->next = e;
    else
        s->lru_head = e;
    s->lru_tail = e;
}

static void index_add(struct cache_store *s, struct cache_entry *e)
{
    struct cache_entry **b = bucket(s, e->hash);
    e->hnext = *b;
    *b = e;
    e->indexed = 1;
    s->entries++;
    lru_append(s, e);
    index_grow(s);
}

static void index_remove(struct cache_store *s, struct cache_entry *e)
{
    struct cache_entry **p = bucket(s, e->hash);
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    e->hnext = NULL;
    e->indexed = 0;
    s->entries--;
    lru_remove(s, e);
}

/* ---- entries ---- */

static struct cache_entry *entry_new(struct cache_store *s, const char *key, const char *name)
{
    size_t nlen = strlen(name), klen = strlen(key);
    struct cache_entry *e = calloc(1, sizeof *e + nlen + 1 + klen + 1);
    if (!e)
        return NULL;
    e->s = s;
    e->fd = -1;
    memcpy(e->name, name, nlen + 1);
    e->key = e->name + nlen + 1;
    memcpy(e->key, key, klen + 1);
    e->hash = cache_name_hash(key, 0);
    s->live++;
    return e;
}

/* Hands an unheld, unindexed entry to *dead, to be freed by cache_entry_free_dead() after
 * unlocking. */
static void bury(struct cache_store *s, struct cache_entry *e, struct cache_entry **dead)
{
    s->bytes -= e->size;
    s->live--;
    e->dead = *dead;
    *dead = e;
}

void cache_entry_free_dead(struct cache_entry *e)
{
    while (e) {
        struct cache_entry *next = e->dead;
        if (e->fd >= 0)
            close(e->fd);
        free(e->fail_msg);
        free(e);
        e = next;
    }
}

void cache_entry_unlink(struct cache_store *s, struct cache_entry *e)
{
    const char *suffix = e->state == CACHE_FILLING ? CACHE_NAME_PART : "";
    char name[CACHE_NAME_BUF + CACHE_NAME_PART_LEN];
    snprintf(name, sizeof name, "%s%s", e->name, suffix);
    if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT) {
        char msg[PATH_MAX + 256];
        cache_msg_oserr(msg, sizeof msg, errno, "cannot remove", s, name, "");
        log_warn("cache: %s", msg);
    }
    e->linked = 0;
}

/* Takes e out of the index and its file out of the directory; holders keep reading it through
 * their descriptor, and the name is free for a new snapshot at once. An unheld entry goes to *dead.
 * Its bytes stay counted until then, as they stay on the disk. */
static void detach(struct cache_store *s, struct cache_entry *e, struct cache_entry **dead)
{
    index_remove(s, e);
    if (e->linked)
        cache_entry_unlink(s, e);
    if (e->refs == 0)
        bury(s, e, dead);
}

double cache_store_now(const struct cache_store *s)
{
    if (s->clock)
        return s->clock();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Stale by age: only complete snapshots age (a long fill is not restarted). */
static int is_stale(const struct cache_store *s, const struct cache_entry *e, double t)
{
    return s->ttl_s > 0 && e->state == CACHE_COMPLETE && t - e->last_use >= s->ttl_s;
}

/* Opens a complete snapshot's file for a first holder. Returns 0; -1 when the file is gone (the
 * entry should be replaced); -2 on another error (logged). */
static int entry_reopen(struct cache_store *s, struct cache_entry *e)
{
    int fd = openat(s->dirfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ELOOP)
            return -1;
        char msg[PATH_MAX + 256];
        cache_msg_oserr(msg, sizeof msg, err, "cannot open", s, e->name, "");
        log_error("cache: %s", msg);
        return -2;
    }
    e->fd = fd;
    return 0;
}

/* Creates <name>.part, 0600 whatever the umask. Returns the descriptor, or -1 (logged). */
static int create_part(struct cache_store *s, const char *name)
{
    char part[CACHE_NAME_BUF + CACHE_NAME_PART_LEN];
    snprintf(part, sizeof part, "%s%s", name, CACHE_NAME_PART);
    const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int fd = openat(s->dirfd, part, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlinkat(s->dirfd, part, 0) == 0)
        fd = openat(s->dirfd, part, flags, 0600);
    if (fd >= 0 && fchmod(fd, 0600) < 0) {
        int err = errno;
        close(fd);
        unlinkat(s->dirfd, part, 0);
        errno = err;
        fd = -1;
    }
    if (fd < 0) {
        char msg[PATH_MAX + 256];
        cache_msg_oserr(msg, sizeof msg, errno, "cannot create", s, part, "");
        log_error("cache: %s", msg);
    }
    return fd;
}

int cache_store_make_room(struct cache_store *s, uint64_t n, struct cache_entry **dead)
{
    if (s->max_bytes == 0 || (n <= s->max_bytes && s->bytes <= s->max_bytes - n))
        return 0;
    uint64_t evictable = 0;
    for (struct cache_entry *e = s->lru_head; e; e = e->next)
        if (e->refs == 0 && e->state == CACHE_COMPLETE)
            evictable += e->size;
    if (n > s->max_bytes || s->bytes - evictable > s->max_bytes - n)
        return -1;
    struct cache_entry *e = s->lru_head;
    while (s->bytes > s->max_bytes - n) {
        while (e->refs > 0 || e->state != CACHE_COMPLETE)
            e = e->next;
        struct cache_entry *next = e->next;
        detach(s, e, dead);
        s->evictions++;
        e = next;
    }
    return 0;
}

/* ---- open and close ---- */

static int make_dirs(const char *dir, char *msg, size_t msglen)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof path) {
        cache_msg_set(msg, msglen, "cache directory name too long: %.64s...", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(path, 0700) < 0 && errno != EEXIST &&
            !(stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
            char eb[256];
            cache_msg_set(msg, msglen, "cannot create directory %s: %s", path,
                          strerror_r(errno, eb, sizeof eb));
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

static int by_mtime(const void *a, const void *b)
{
    const struct cache_entry *x = *(struct cache_entry *const *)a;
    const struct cache_entry *y = *(struct cache_entry *const *)b;
    return (x->last_use > y->last_use) - (x->last_use < y->last_use);
}

/* Removes partial snapshots and indexes complete ones, least recently modified first. Files that
 * are not ours are left alone. */
static enum cache_err scan_dir(struct cache_store *s, char *msg, size_t msglen)
{
    enum cache_err rc = CACHE_OK;
    struct cache_entry **found = NULL;
    size_t nfound = 0, cap = 0;
    DIR *d = NULL;
    int fd = dup(s->dirfd);
    if (fd < 0 || !(d = fdopendir(fd))) {
        cache_msg_oserr(msg, msglen, errno, "cannot read directory", s, NULL, "");
        if (fd >= 0)
            close(fd);
        return CACHE_EIO;
    }
    rewinddir(d);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                cache_msg_oserr(msg, msglen, errno, "cannot read directory", s, NULL, "");
                rc = CACHE_EIO;
            }
            break;
        }
        const char *name = de->d_name;
        size_t len = strlen(name);
        char key[CACHE_NAME_BUF], base[CACHE_NAME_BUF];
        int part = len > CACHE_NAME_PART_LEN &&
                   strcmp(name + len - CACHE_NAME_PART_LEN, CACHE_NAME_PART) == 0;
        int ours = 0;
        if (part && len - CACHE_NAME_PART_LEN < CACHE_NAME_BUF) {
            memcpy(base, name, len - CACHE_NAME_PART_LEN);
            base[len - CACHE_NAME_PART_LEN] = '\0';
            ours = cache_name_parse(base, key) || cache_name_is_hashed(base);
        } else if (!part) {
            ours = cache_name_is_hashed(name);
            if (!ours && cache_name_parse(name, key)) {
                struct stat st;
                if (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                    cache_msg_oserr(msg, msglen, errno, "cannot stat", s, name, "");
                    rc = CACHE_EIO;
                    break;
                }
                if (!S_ISREG(st.st_mode))
                    continue;
                if (nfound == cap) {
                    size_t ncap = cap ? cap * 2 : 64;
                    struct cache_entry **p = realloc(found, ncap * sizeof *p);
                    if (!p) {
                        rc = CACHE_ENOMEM;
                        break;
                    }
                    found = p;
                    cap = ncap;
                }
                struct cache_entry *e = entry_new(s, key, name);
                if (!e) {
                    rc = CACHE_ENOMEM;
                    break;
                }
                e->state = CACHE_COMPLETE;
                e->linked = 1;
                e->size = (uint64_t)st.st_size;
                e->mtime = st.st_mtim.tv_sec;
                e->last_use = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
                found[nfound++] = e;
                continue;
            }
        }
        if (ours && unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT) {
            cache_msg_oserr(msg, msglen, errno, "cannot remove", s, name, "");
            rc = CACHE_EIO;
            break;
        }
    }
    closedir(d);
    if (rc == CACHE_ENOMEM)
        cache_msg_set(msg, msglen, "out of memory reading cache directory %s", s->dir);
    if (nfound)
        qsort(found, nfound, sizeof *found, by_mtime);
    for (size_t i = 0; i < nfound; i++) {
        if (rc) {
            s->live--;
            free(found[i]);
            continue;
        }
        s->bytes += found[i]->size;
        index_add(s, found[i]);
    }
    free(found);
    return rc;
}

static void store_free(struct cache_store *s)
{
    struct cache_entry *e = s->lru_head, *next;
    for (; e; e = next) {
        next = e->next;
        if (e->refs > 0) {
            log_error("cache: snapshot %s still held when the store is closed", e->key);
            continue;
        }
        if (e->linked && e->state != CACHE_COMPLETE)
            cache_entry_unlink(s, e);
        e->dead = NULL;
        s->live--;
        cache_entry_free_dead(e);
    }
    if (s->live > 0)
        log_error("cache: %ld snapshot(s) still held when the store is closed", s->live);
    free(s->buckets);
    if (s->dirfd >= 0)
        close(s->dirfd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->sync_ready) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    free(s->dir);
    free(s);
}

/* Locks the directory against another store (another mount would remove our partial files). */
static enum cache_err lock_dir(struct cache_store *s, char *msg, size_t msglen)
{
    s->lockfd = openat(s->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lockfd < 0 || fchmod(s->lockfd, 0600) < 0) {
        cache_msg_oserr(msg, msglen, errno, "cannot create", s, LOCK_NAME, "");
        return CACHE_EIO;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            cache_msg_set(msg, msglen, "cache directory %s is in use by another ddbfs", s->dir);
        else
            cache_msg_oserr(msg, msglen, errno, "cannot lock", s, LOCK_NAME, "");
        return CACHE_EIO;
    }
    return CACHE_OK;
}

struct cache_store *cache_store_open(const struct cache_opts *opts, enum cache_err *err, char *msg,
                                     size_t msglen)
{
    enum cache_err rc = CACHE_OK;
    struct cache_store *s = NULL;
    struct cache_entry *dead = NULL;
    pthread_condattr_t ca;
    int cond_rc;

    if (!opts || !opts->dir || !opts->dir[0]) {
        rc = CACHE_EINVAL;
        cache_msg_set(msg, msglen, "no cache directory given");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (s) {
        s->dirfd = s->lockfd = -1;
        s->dir = strdup(opts->dir);
        s->nbuckets = BUCKETS_MIN;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    }
    if (!s || !s->dir || !s->buckets) {
        rc = CACHE_ENOMEM;
        cache_msg_set(msg, msglen, "out of memory opening cache directory %s", opts->dir);
        goto out;
    }
    s->max_bytes = opts->max_bytes;
    s->ttl_s = opts->ttl_s;
    s->clock = opts->clock;

    if (pthread_condattr_init(&ca) != 0) {
        rc = CACHE_ENOMEM;
        cache_msg_set(msg, msglen, "cannot set up the cache's condition variable");
        goto out;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    cond_rc = pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (cond_rc != 0 || pthread_mutex_init(&s->mu, NULL) != 0) {
        if (cond_rc == 0)
            pthread_cond_destroy(&s->cv);
        rc = CACHE_ENOMEM;
        cache_msg_set(msg, msglen, "cannot set up the cache's locks");
        goto out;
    }
    s->sync_ready = 1;

    if (make_dirs(s->dir, msg, msglen) < 0) {
        rc = CACHE_EIO;
        goto out;
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        cache_msg_oserr(msg, msglen, errno, "cannot open directory", s, NULL, "");
        rc = CACHE_EIO;
        goto out;
    }
    if (fchmod(s->dirfd, 0700) < 0) {
        cache_msg_oserr(msg, msglen, errno, "cannot chmod 0700", s, NULL, "");
        rc = CACHE_EIO;
        goto out;
    }
    if ((rc = lock_dir(s, msg, msglen)) || (rc = scan_dir(s, msg, msglen)))
        goto out;

    cache_store_make_room(s, 0, &dead); /* cache_size may have been lowered since the last run */
    cache_entry_free_dead(dead);

out:
    if (err)
        *err = rc;
    if (rc && s) {
        store_free(s);
        s = NULL;
    }
    return s;
}

void cache_store_close(struct cache_store *s)
{
    if (s)
        store_free(s);
}

/* ---- acquire and release ---- */

struct cache_entry *cache_entry_acquire(struct cache_store *s, const char *key, int *created,
                                        enum cache_err *err)
{
    enum cache_err rc = CACHE_OK;
    struct cache_entry *e = NULL, *dead = NULL;
    int made = 0, r;
    char name[CACHE_NAME_BUF];
    double t;

    if (!s || !key || cache_name_make(key, name) == 0) {
        rc = CACHE_EINVAL;
        goto out;
    }
    t = cache_store_now(s);
    pthread_mutex_lock(&s->mu);
    e = index_find(s, key);
    if (e && e->state != CACHE_FAILED && !is_stale(s, e, t)) {
        r = e->fd >= 0 ? 0 : entry_reopen(s, e);
        if (r == 0) {
            e->refs++;
            e->last_use = t;
            lru_remove(s, e);
            lru_append(s, e);
            s->hits++;
            goto unlock;
        }
        if (r == -2) {
            rc = CACHE_EIO;
            e = NULL;
            goto unlock;
        }
    }
    if (e)
        detach(s, e, &dead);
    e = entry_new(s, key, name);
    if (!e) {
        rc = CACHE_ENOMEM;
        goto unlock;
    }
    e->fd = create_part(s, name);
    if (e->fd < 0) {
        rc = CACHE_EIO;
        bury(s, e, &dead);
        e = NULL;
        goto unlock;
    }
    e->state = CACHE_FILLING;
    e->refs = 1;
    e->linked = 1;
    e->last_use = t;
    index_add(s, e);
    s->misses++;
    made = 1;
unlock:
    pthread_mutex_unlock(&s->mu);
out:
    cache_entry_free_dead(dead);
    if (created)
        *created = made;
    if (err)
        *err = rc;
    return e;
}

struct cache_entry *cache_entry_peek(struct cache_store *s, const char *key)
{
    if (!s || !key || !key[0])
        return NULL;
    double t = cache_store_now(s);
    pthread_mutex_lock(&s->mu);
    struct cache_entry *e = index_find(s, key);
    if (e && (is_stale(s, e, t) || (e->fd < 0 && entry_reopen(s, e) < 0)))
        e = NULL;
    if (e)
        e->refs++;
    pthread_mutex_unlock(&s->mu);
    return e;
}

struct cache_entry *cache_entry_retain(struct cache_entry *e)
{
    if (!e)
        return NULL;
    pthread_mutex_lock(&e->s->mu);
    e->refs++;
    pthread_mutex_unlock(&e->s->mu);
    return e;
}

void cache_entry_release(struct cache_entry *e)
{
    if (!e)
        return;
    struct cache_store *s = e->s;
    struct cache_entry *dead = NULL;
    int fd = -1;
    pthread_mutex_lock(&s->mu);
    if (--e->refs == 0) {
        if (!e->indexed) {
            bury(s, e, &dead);
        } else if (e->state != CACHE_COMPLETE) {
            detach(s, e, &dead); /* failed, or abandoned by its filler */
        } else {
            fd = e->fd; /* no descriptor per unheld snapshot: there may be many */
            e->fd = -1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (fd >= 0)
        close(fd);
    cache_entry_free_dead(dead);
}

/* ---- the whole store ---- */

int cache_store_invalidate(struct cache_store *s, const char *prefix)
{
    struct cache_entry *dead = NULL, *e, *next;
    size_t plen = prefix ? strlen(prefix) : 0;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (e = s->lru_head; e; e = next) {
        next = e->next;
        if (strncmp(e->key, prefix ? prefix : "", plen) == 0) {
            detach(s, e, &dead);
            n++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    cache_entry_free_dead(dead);
    return n;
}

void cache_store_get_stats(struct cache_store *s, struct cache_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->bytes = s->bytes;
    out->max_bytes = s->max_bytes;
    out->entries = s->entries;
    out->evictions = s->evictions;
    out->hits = s->hits;
    out->misses = s->misses;
    pthread_mutex_unlock(&s->mu);
}
