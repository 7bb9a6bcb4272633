/* Progress you can watch and snapshots you can check: the counters behind the user.ddbfs.*
 * extended attributes, the periodic progress log lines, each finished segment's item count and
 * sha256, and the table's manifest (fs/manifest.h for its text).
 *
 * The structs are embedded in struct fs_segment and struct fs_table (fs/fs.h); zeroed memory is
 * their initial state. Their fields are under the table's lock unless said otherwise. Nothing here
 * starts a scan or waits for one, except fs_manifest_build (stat/open of the manifest waits for
 * the snapshots, as stat of a segment does). */
#ifndef FS_PROGRESS_H
#define FS_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/manifest.h"
#include "fs/rate.h"

#define FS_PROGRESS_LOG_S 10.0 /* a progress line per busy table at most this often */
#define FS_XATTR_PREFIX "user.ddbfs."

struct fs;
struct fs_table;
struct fs_segment;
struct cache_entry;

enum fs_seg_state { FS_SEG_IDLE, FS_SEG_QUEUED, FS_SEG_SCANNING, FS_SEG_DONE, FS_SEG_FAILED };

/* What is known of a complete snapshot (kept in <cache_dir>/digests/<table>, so that it and the
 * snapshot's mtime survive a remount). */
struct fs_digest {
    int valid;
    long items;
    uint64_t bytes;
    time_t mtime;
    unsigned char sha[32];
};

struct fs_seg_progress {
    long items; /* the running (or last) scan's items and served bytes */
    uint64_t bytes;
    double consumed; /* its capacity units */
    double started;  /* monotonic */
    struct fs_rate rate;
    void *sha; /* EVP_MD_CTX of the running scan (I/O thread only, not under the lock) */
    struct fs_digest digest; /* the last complete snapshot's */
};

/* A file restored into the table through this mount (for the manifest check). */
struct fs_restored {
    struct fs_restored *next;
    char *name; /* as the tool meant it (rsync's temp names seen through) */
    long items, rejected;
    uint64_t bytes;
    unsigned char sha[32];
};

struct fs_table_progress {
    int digests_loaded;
    double logged_at;   /* monotonic: the last progress log line */
    long scanned_items; /* every page of every scan since mount, for the table's rate */
    double scanned_bytes;
    struct fs_rate rate;
    /* Restores: */
    long files, written, rejected, expected; /* expected: from a manifest, 0 none yet */
    double written_bytes, consumed_wcu;
    struct fs_rate wrate;
    char *verified;                 /* the last manifest check's outcome (owned), NULL: none */
    char *deferred, *deferred_path; /* a manifest kept to check later (owned) */
    size_t deferred_len;
    int awaiting; /* the kept manifest waits for segment files, not for the schema */
    struct fs_restored *restored;
};

/* ---- hooks for segment.c (I/O thread) ---- */
/* A scan of s starts (call with the table's lock held: it only resets counters). */
void fs_progress_fill_start(struct fs_segment *s);
/* Bytes appended to the snapshot (after gzip): counted and checksummed. */
void fs_progress_fill_bytes(struct fs_segment *s, const void *p, size_t n);
/* A page of n items was stored; consumed: the scan's capacity so far. May log a progress line. */
void fs_progress_fill_page(struct fs_segment *s, size_t n, double consumed);
/* The scan read everything: finishes the checksum. Returns the mtime the snapshot must keep
 * (the previous snapshot's, when the content is the same), or 0 for now. */
time_t fs_progress_fill_mtime(struct fs_segment *s);
/* After commit (ok) or fail: records the digest of e (complete) and saves the table's digests. */
void fs_progress_fill_end(struct fs_segment *s, struct cache_entry *e, int ok);

/* ---- hooks for upload.c ---- */
/* Items stored and rejected, bytes received and capacity consumed since the last call, for a
 * restore into t. */
void fs_progress_restore_items(struct fs_table *t, long stored, long rejected, size_t bytes,
                               double wcu);
/* A data file was closed: what was stored from it, and the sha256 of its bytes. */
void fs_progress_restore_file(struct fs_table *t, const char *name, long items, long rejected,
                              uint64_t bytes, const unsigned char sha[32]);

/* ---- xattrs (ops.c) ---- */
/* t: NULL for the mount's root; file: NULL for the table directory. Returns the value's length
 * (copied when size > 0), -ENODATA, -ERANGE; never blocks on a scan. */
int fs_progress_getxattr(struct fs *fs, struct fs_table *t, const char *file, const char *name,
                         char *value, size_t size);
/* The names, NUL-separated; length, or -ERANGE. */
int fs_progress_listxattr(struct fs *fs, struct fs_table *t, const char *file, char *list,
                          size_t size);

/* ---- the manifest (verify.c) ---- */
/* Waits for every segment's snapshot and makes the manifest text (new string) and its mtime (the
 * newest snapshot's). 0 or a negative errno (logged). */
int fs_manifest_build(struct fs_table *t, char **text, size_t *len, time_t *mtime);
/* A manifest written into t (at its close): compares it with the files restored through this
 * mount. 0, or -EIO with a log line naming each missing or mismatched segment. In a table that
 * waits for its _schema.json, the manifest waits too (0; see fs_manifest_check_deferred).
 * strict (rsync, which copies in name order): a segment not written yet is missing. Otherwise (cp
 * and tar copy in the source directory's order) the check waits for it: 0 now, and the close of
 * the data file that completes the set gets the verdict (fs_manifest_check_awaiting). */
int fs_manifest_check(struct fs_table *t, const char *text, size_t len, const char *path,
                      int strict);
/* After a data file's close: re-checks a manifest that waits for segment files. 0 or -EIO. */
int fs_manifest_check_awaiting(struct fs_table *t);
/* After _schema.json created t and its waiting files were stored: checks a manifest that came
 * before it (0 when there is none). */
int fs_manifest_check_deferred(struct fs_table *t);
/* The digest of segment i's complete snapshot e (size and mtime from fs_segment_wait): the one
 * kept, or computed by reading the snapshot. 0 or a negative errno. */
int fs_progress_digest(struct fs_table *t, unsigned i, struct cache_entry *e, uint64_t size,
                       time_t mtime, struct fs_digest *out);

void fs_progress_table_cleanup(struct fs_table *t);

#endif
