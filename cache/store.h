/* A local store of segment snapshots: bytes in, bytes out, sizes, eviction. No network, no FUSE,
 * no DynamoDB types (a snapshot is named by an opaque key such as "orders/0003-of-0016.json").
 *
 * Layout under the store's directory (0700; files 0600, this is the user's data):
 *   <escaped key>.part   a snapshot being filled (discarded at open: left by a crash)
 *   <escaped key>        a complete snapshot
 *
 * Life of a snapshot: cache_entry_acquire() finds it, or makes an empty one in the FILLING state
 * and tells the caller to fill it (created = 1). The filler appends bytes and then commits (state
 * COMPLETE: size, content and mtime fixed from then on) or fails it (state FAILED: the error is
 * kept for everyone who waits, the bytes are dropped). Readers wait for COMPLETE or FAILED.
 *
 * The store is bounded by max_bytes: appending evicts complete snapshots that nobody holds, least
 * recently used first; when that is not enough the append fails with CACHE_ENOSPC and the snapshot
 * is never served truncated. A snapshot is stale ttl seconds after it was last used (acquired);
 * the next acquire then starts a new one (unless it is still held, in which case holders keep
 * reading the old one and the new acquirer gets a new entry). cache_store_invalidate() marks
 * snapshots stale at once (after a write to the table).
 *
 * Thread-safe. Entries are reference-counted: acquire gives a new reference, release drops it. */
#ifndef CACHE_STORE_H
#define CACHE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum cache_err {
    CACHE_OK = 0,
    CACHE_ENOMEM,  /* out of memory */
    CACHE_EIO,     /* the local disk failed (message has the path and strerror) */
    CACHE_ENOSPC,  /* the snapshot does not fit in max_bytes, even after eviction */
    CACHE_EFAILED, /* the filler failed the snapshot (message has its reason) */
    CACHE_EINVAL,  /* bad arguments (an empty key) */
    CACHE_ESTATE,  /* wrong state for the call (append after commit...) */
};
const char *cache_strerror(enum cache_err e);

enum cache_state { CACHE_FILLING, CACHE_COMPLETE, CACHE_FAILED };

struct cache_opts {
    const char *dir;    /* created (0700) if missing; an existing one is chmod'ed 0700 */
    uint64_t max_bytes; /* 0: unbounded */
    double ttl_s;       /* <= 0: never stale by age */
    double (*clock)(void); /* wall seconds; NULL: CLOCK_REALTIME (injected in tests) */
};

struct cache_store;
struct cache_entry;

/* Opens (or creates) the store and discards partial snapshots left in it. Complete snapshots left
 * from an earlier run are kept and served (their mtime is the file's). Returns a new store, or NULL
 * with *err and msg (naming the path) filled. */
struct cache_store *cache_store_open(const struct cache_opts *opts, enum cache_err *err, char *msg,
                                     size_t msglen);
/* Frees the store. Entries must all have been released. NULL is a no-op. */
void cache_store_close(struct cache_store *s);

/* Returns a new reference to the current snapshot for key, making an empty FILLING one when there
 * is none or the existing one is stale, failed or evicted (*created = 1: the caller must fill it and
 * then commit or fail it). NULL with *err on failure. */
struct cache_entry *cache_entry_acquire(struct cache_store *s, const char *key, int *created,
                                        enum cache_err *err);
/* Returns a new reference to the current snapshot for key if one exists and is not stale (any
 * state), else NULL. Does not count as a use. */
struct cache_entry *cache_entry_peek(struct cache_store *s, const char *key);
/* A new reference to e (which the caller holds). NULL gives NULL. */
struct cache_entry *cache_entry_retain(struct cache_entry *e);
/* Drops a reference. NULL is a no-op. */
void cache_entry_release(struct cache_entry *e);

/* Filler side (only the caller that got created = 1). */
enum cache_err cache_entry_append(struct cache_entry *e, const void *p, size_t n, char *msg,
                                  size_t msglen);
/* Makes the snapshot complete: flushes, renames the .part file, fixes size and mtime. */
enum cache_err cache_entry_commit(struct cache_entry *e, char *msg, size_t msglen);
/* Commit with the given mtime (0: now), for a snapshot whose content equals an earlier one's and
 * so keeps its time. */
enum cache_err cache_entry_commit_at(struct cache_entry *e, time_t mtime, char *msg,
                                     size_t msglen);
/* Fails the snapshot with code (kept, with msg, for waiters), and drops its bytes. */
void cache_entry_fail(struct cache_entry *e, enum cache_err code, const char *msg);

/* Reader side. Blocks until the snapshot is COMPLETE or FAILED (or timeout_s passes, <= 0: no
 * limit; then CACHE_ESTATE). On COMPLETE returns CACHE_OK with size and mtime; on FAILED the
 * filler's code and message. */
enum cache_err cache_entry_wait(struct cache_entry *e, double timeout_s, uint64_t *size,
                                time_t *mtime, char *msg, size_t msglen);
/* State without waiting; size so far. */
enum cache_state cache_entry_state(struct cache_entry *e, uint64_t *size);
/* Reads up to n bytes at off of a COMPLETE snapshot (pread). Returns bytes read (0 at end) or -1
 * with errno set. */
ssize_t cache_entry_read(struct cache_entry *e, void *buf, size_t n, uint64_t off);
/* The snapshot file's descriptor (borrowed, valid while the reference is held; read-only use), for
 * zero-copy reads. -1 when not COMPLETE. */
int cache_entry_fd(struct cache_entry *e);

/* Marks stale every snapshot whose key starts with prefix ("" for all); ones nobody holds are
 * deleted at once. Returns how many were marked. */
int cache_store_invalidate(struct cache_store *s, const char *prefix);

struct cache_stats {
    uint64_t bytes;     /* on disk now (complete + filling) */
    uint64_t max_bytes;
    long entries;
    long evictions;
    long hits;          /* acquires served by an existing snapshot */
    long misses;        /* acquires that made a new one */
};
void cache_store_get_stats(struct cache_store *s, struct cache_stats *out);

#endif
