#include "cache/internal.h"

#include "base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- filling ---- */

static int write_all(int fd, const char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Names the option (cache_size) and its value: the user's way out is to raise it. */
static void nospc_msg(struct cache_store *s, struct cache_entry *e, size_t n, char *msg,
                      size_t msglen)
{
    uint64_t want = e->size + n, others = s->bytes - e->size;
    if (want > s->max_bytes)
        cache_msg_set(msg, msglen,
                      "snapshot %s needs more than cache_size allows: it has reached %" PRIu64
                      " bytes and cache_size is %" PRIu64 " bytes",
                      e->key, want, s->max_bytes);
    else
        cache_msg_set(msg, msglen,
                      "snapshot %s needs more than cache_size allows: it has reached %" PRIu64
                      " bytes, cache_size is %" PRIu64 " bytes and snapshots in use hold %" PRIu64,
                      e->key, want, s->max_bytes, others);
}

enum cache_err cache_entry_append(struct cache_entry *e, const void *p, size_t n, char *msg,
                                  size_t msglen)
{
    struct cache_store *s = e->s;
    struct cache_entry *dead = NULL;
    enum cache_err rc = CACHE_OK;
    uint64_t off;
    int fd, werr;

    pthread_mutex_lock(&s->mu);
    if (e->state != CACHE_FILLING || e->writing || e->broken) {
        rc = CACHE_ESTATE;
        cache_msg_set(msg, msglen, "snapshot %s: append %s", e->key,
                      e->state != CACHE_FILLING ? "after commit or fail"
                      : e->writing              ? "during another append"
                                                : "after a failed append");
        goto unlock;
    }
    if (n == 0)
        goto unlock;
    if (cache_store_make_room(s, n, &dead) < 0) {
        rc = e->broken = CACHE_ENOSPC;
        nospc_msg(s, e, n, msg, msglen);
        goto unlock;
    }
    /* Reserve the bytes, then write without the lock: only the filler appends, the descriptor
     * stays open while it holds its reference, and detaching only removes the name. */
    s->bytes += n;
    off = e->size;
    fd = e->fd;
    e->writing = 1;
    pthread_mutex_unlock(&s->mu);

    werr = write_all(fd, p, n, off) < 0 ? errno : 0;

    pthread_mutex_lock(&s->mu);
    e->writing = 0;
    if (werr) {
        s->bytes -= n;
        rc = e->broken = CACHE_EIO;
        cache_msg_oserr(msg, msglen, werr, "cannot write", s, e->name, CACHE_NAME_PART);
    } else if (e->state != CACHE_FILLING) {
        s->bytes -= n; /* failed meanwhile: its bytes are dropped */
        rc = CACHE_ESTATE;
        cache_msg_set(msg, msglen, "snapshot %s failed during an append", e->key);
    } else {
        e->size += n;
    }
unlock:
    pthread_mutex_unlock(&s->mu);
    cache_entry_free_dead(dead);
    return rc;
}

enum cache_err cache_entry_commit(struct cache_entry *e, char *msg, size_t msglen)
{
    return cache_entry_commit_at(e, 0, msg, msglen);
}

enum cache_err cache_entry_commit_at(struct cache_entry *e, time_t mtime, char *msg,
                                     size_t msglen)
{
    struct cache_store *s = e->s;
    enum cache_err rc = CACHE_OK;
    double now = cache_store_now(s);
    time_t t = mtime > 0 ? mtime : (time_t)now;
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    char part[CACHE_NAME_BUF + CACHE_NAME_PART_LEN];

    pthread_mutex_lock(&s->mu);
    if (e->state != CACHE_FILLING || e->writing || e->broken) {
        rc = CACHE_ESTATE;
        cache_msg_set(msg, msglen, "snapshot %s: commit %s", e->key,
                      e->state != CACHE_FILLING ? "after commit or fail"
                      : e->writing              ? "during an append"
                                                : "after a failed append (fail it instead)");
        goto unlock;
    }
    /* The file's mtime is the snapshot's, so that a later run serves the same one. */
    if (futimens(e->fd, ts) < 0) {
        rc = e->broken = CACHE_EIO;
        cache_msg_oserr(msg, msglen, errno, "cannot set the mtime of", s, e->name, CACHE_NAME_PART);
        goto unlock;
    }
    /* Atomic: the complete name shows a whole snapshot or none. A replaced snapshot has no name
     * left to rename: it is complete for its holders only. */
    snprintf(part, sizeof part, "%s%s", e->name, CACHE_NAME_PART);
    if (e->linked && renameat(s->dirfd, part, s->dirfd, e->name) < 0) {
        rc = e->broken = CACHE_EIO;
        cache_msg_oserr(msg, msglen, errno, "cannot rename", s, part, " into place");
        goto unlock;
    }
    e->state = CACHE_COMPLETE;
    e->mtime = t;
    e->last_use = now;
    pthread_cond_broadcast(&s->cv);
unlock:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void cache_entry_fail(struct cache_entry *e, enum cache_err code, const char *msg)
{
    struct cache_store *s = e->s;
    char *copy = msg ? strdup(msg) : NULL;
    int fd = -1;

    pthread_mutex_lock(&s->mu);
    if (e->state != CACHE_FILLING) {
        pthread_mutex_unlock(&s->mu);
        free(copy);
        log_warn("cache: snapshot %s failed after it was %s", e->key,
                 e->state == CACHE_COMPLETE ? "committed" : "failed");
        return;
    }
    if (e->linked)
        cache_entry_unlink(s, e);
    e->state = CACHE_FAILED;
    e->fail_code = code == CACHE_OK ? CACHE_EFAILED : code;
    e->fail_msg = copy;
    s->bytes -= e->size;
    e->size = 0;
    fd = e->fd;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* Holders keep the descriptor until they release: give the space back now. The filler holds
     * a reference, so fd stays open meanwhile. */
    if (fd >= 0 && ftruncate(fd, 0) < 0)
        log_debug("cache: cannot truncate failed snapshot %s", e->key);
}

/* ---- reading ---- */

enum cache_err cache_entry_wait(struct cache_entry *e, double timeout_s, uint64_t *size,
                                time_t *mtime, char *msg, size_t msglen)
{
    struct cache_store *s = e->s;
    enum cache_err rc = CACHE_OK;
    struct timespec deadline;

    if (timeout_s > 1e9)
        timeout_s = 0; /* decades: no limit */
    if (timeout_s > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        double whole = (double)(time_t)timeout_s;
        deadline.tv_sec += (time_t)whole;
        deadline.tv_nsec += (long)((timeout_s - whole) * 1e9);
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&s->mu);
    while (e->state == CACHE_FILLING) {
        if (timeout_s <= 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT &&
                   e->state == CACHE_FILLING) {
            rc = CACHE_ESTATE;
            cache_msg_set(msg, msglen, "snapshot %s still filling after %.3g s", e->key, timeout_s);
            goto unlock;
        }
    }
    if (e->state == CACHE_COMPLETE) {
        if (size)
            *size = e->size;
        if (mtime)
            *mtime = e->mtime;
    } else {
        rc = e->fail_code;
        cache_msg_set(msg, msglen, "%s", e->fail_msg ? e->fail_msg : cache_strerror(rc));
    }
unlock:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

enum cache_state cache_entry_state(struct cache_entry *e, uint64_t *size)
{
    pthread_mutex_lock(&e->s->mu);
    enum cache_state st = e->state;
    if (size)
        *size = e->size;
    pthread_mutex_unlock(&e->s->mu);
    return st;
}

ssize_t cache_entry_read(struct cache_entry *e, void *buf, size_t n, uint64_t off)
{
    pthread_mutex_lock(&e->s->mu);
    enum cache_state st = e->state;
    uint64_t size = e->size;
    int fd = e->fd;
    pthread_mutex_unlock(&e->s->mu);
    /* Once complete, size and descriptor are fixed while the caller holds its reference. */
    if (st != CACHE_COMPLETE) {
        errno = EAGAIN;
        return -1;
    }
    if (off >= size)
        return 0;
    if (n > size - off)
        n = (size_t)(size - off);
    ssize_t r;
    do
        r = pread(fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

int cache_entry_fd(struct cache_entry *e)
{
    pthread_mutex_lock(&e->s->mu);
    int fd = e->state == CACHE_COMPLETE ? e->fd : -1;
    pthread_mutex_unlock(&e->s->mu);
    return fd;
}
