/* Private to cache/: the store's and entries' insides, shared by store.c (the index, open and
 * close, acquire and release) and entry.c (filling and reading one snapshot).
 *
 * Locking: s->mu guards every field of the store and of its entries, except the bytes of a file,
 * which the filler writes without it (see cache_entry_append). An entry's descriptor stays open
 * while anyone holds a reference; a COMPLETE entry's size, mtime and descriptor are fixed then. */
#ifndef CACHE_INTERNAL_H
#define CACHE_INTERNAL_H

#include "cache/name.h"
#include "cache/store.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cache_entry {
    struct cache_store *s;
    struct cache_entry *hnext;       /* hash chain (indexed entries) */
    struct cache_entry *prev, *next; /* LRU list, least recently used first (indexed entries) */
    struct cache_entry *dead;        /* a list of entries to free after unlocking */
    uint64_t hash;
    int refs;
    int indexed; /* the current snapshot for its key */
    int linked;  /* has a name in the directory (<name>.part while filling, else <name>) */
    int writing; /* an append is writing outside the lock */
    enum cache_state state;
    enum cache_err broken; /* an append or commit failed: the snapshot can only be failed */
    int fd;                /* -1 when closed (complete and unheld) */
    uint64_t size;
    time_t mtime;
    double last_use;
    enum cache_err fail_code;
    char *fail_msg; /* NULL: cache_strerror(fail_code) */
    char *key;      /* points into names */
    char name[];    /* the file name, then the key */
};

struct cache_store {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when a snapshot becomes COMPLETE or FAILED */
    int sync_ready;
    char *dir;
    int dirfd;
    int lockfd;
    uint64_t max_bytes;
    double ttl_s;
    double (*clock)(void);
    struct cache_entry **buckets;
    size_t nbuckets;
    struct cache_entry *lru_head, *lru_tail;
    uint64_t bytes;
    long entries; /* indexed */
    long live;    /* allocated: indexed, or replaced and still held */
    long evictions, hits, misses;
};

/* Writes into msg (may be NULL). */
void cache_msg_set(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<what> <dir>/<name><suffix>: <strerror_r(err)>", or "<what> <dir>: ..." when name is NULL. */
void cache_msg_oserr(char *msg, size_t msglen, int err, const char *what,
                     const struct cache_store *s, const char *name, const char *suffix);

/* The store's clock (the injected one, or CLOCK_REALTIME). */
double cache_store_now(const struct cache_store *s);
/* Under s->mu. Evicts complete snapshots nobody holds, least recently used first, until n more
 * bytes fit in max_bytes; evicted entries go to *dead. Returns 0, or -1 (having evicted nothing)
 * when even evicting all of them would not be enough. */
int cache_store_make_room(struct cache_store *s, uint64_t n, struct cache_entry **dead);
/* Under s->mu. Removes e's name from the directory (<name>.part while FILLING); logs failures. */
void cache_entry_unlink(struct cache_store *s, struct cache_entry *e);
/* Not under s->mu. Frees a list of entries linked by ->dead, closing their descriptors. */
void cache_entry_free_dead(struct cache_entry *dead);

#endif
