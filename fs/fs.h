/* The filesystem's state, shared by the fs/ files. Only fs/ sees all three rooms. */
#ifndef FS_FS_H
#define FS_FS_H

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "cache/store.h"
#include "ddb/client.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "ddb/http.h"
#include "ddb/scan.h"
#include "ddb/table.h"
#include "ddb/throttle.h"
#include "fs/opts.h"
#include "fs/progress.h"

#define FS_SCHEMA_NAME "_schema.json"
#define FS_TTL_NAME "_ttl.json" /* only when the table has Time to Live on */
#define FS_TABLES_REFRESH_S 5.0     /* ListTables again at most this often */
#define FS_TABLE_REFRESH_S 60.0     /* DescribeTable again at most this often */
#define FS_MIN_SEGMENT_BYTES (64ull << 20) /* auto: no segment smaller than this */
#define FS_SEGMENT_BYTES (1ull << 30)      /* auto: at least one segment per GiB */
#define FS_RCU_PER_SCAN 1000.0      /* auto: one scan stream per this much budget */
#define FS_MAX_PARALLEL_SCANS 64
#define FS_PAGE_WORKERS_MAX 8 /* threads that read Scan pages (one per CPU, at most this) */
#define FS_CREATE_WAIT_MS (20 * 60 * 1000) /* CreateTable until ACTIVE (GSIs can take minutes) */

struct fs;
struct fs_table;
struct fs_upload;

#define FS_WRITTEN_MAX 100000 /* just-written files remembered per table (oldest forgotten first) */
#define FS_WRITTEN_TTL_S 10.0 /* a just-written file is visible this long after its last change */

/* A file written into a table directory: its items went to the table, its metadata stays visible
 * (size and times as written) so that rsync and tar can finish with it. */
struct fs_written {
    struct fs_written *next;
    char *name;
    mode_t mode;
    off_t size;
    struct timespec mtime, ctime;
    uid_t uid;
    gid_t gid;
    int writers; /* open upload handles */
    double changed; /* monotonic seconds of the last change or close */
    int removed; /* unlinked or renamed over while open: not listed, freed when the table is */
    int pinned;  /* spooled, waiting for the table's schema: does not expire */
};

/* A data file written into a pending table before its _schema.json: its bytes wait in a spool
 * file (0600) until the schema creates the table, then they are stored like any restore file. */
struct fs_spooled {
    struct fs_spooled *next;
    char *name;  /* in the table directory */
    char *path;  /* the spool file */
    struct fs_written *entry;
};

/* One segment file's background snapshot. */
struct fs_segment {
    struct fs_table *t;
    unsigned index;
    int queued;                 /* waiting for a scan slot */
    int running;                /* a scan fills `filling` */
    struct cache_entry *filling; /* held by the filler */
    struct ddb_scan *scan;
    void *gz;                   /* z_stream when format=json.gz */
    struct buf out;             /* a page's lines before they go to the cache */
    int failed;                 /* a cache_err that stopped the scan */
    char *fail_msg;             /* why (owned), for those who wait for the snapshot */
    double consumed;            /* capacity reported by the pages so far (for log_throttle) */
    struct fs_seg_progress prog; /* progress.c: counters, checksum, digest */
};

struct fs_table {
    struct fs *fs;
    char *name;
    pthread_mutex_t lock;
    /* Under lock: */
    int described;            /* info, schema and segments are set */
    double described_at;
    struct ddb_table_info info;
    char *schema;             /* _schema.json's bytes */
    size_t schema_len;
    char *ttl;                /* _ttl.json's bytes (UpdateTimeToLive input), NULL when TTL is off */
    size_t ttl_len;
    time_t created;           /* CreationDateTime: the directory's and _schema.json's times */
    unsigned nseg;
    struct fs_segment *segs;  /* nseg of them */
    double read_budget;       /* RCU/s */
    int parallel;             /* scans at once */
    int running;              /* scans running */
    double prefetched_at;     /* last time every segment was queued */
    struct ddb_throttle read_bucket;
    double write_budget;      /* WCU/s */
    struct ddb_throttle write_bucket;
    int pending;              /* made by mkdir: no DynamoDB table until _schema.json is written */
    int hidden;               /* a pending directory removed by rmdir (kept: handles may hold it) */
    int created_here;         /* made through this mount from a written _schema.json */
    int uploads;              /* open uploads */
    double last_upload;       /* monotonic seconds of the last upload's open or close */
    struct fs_spooled *spooled; /* in the order they were closed */
    struct fs_written *written; /* newest first */
    struct fs_written *removed; /* kept until the table is freed (handles may point at them) */
    long nwritten;
    struct fs_table_progress prog; /* progress.c: rates, restore counts, manifest check */
};

struct fs {
    struct fs_opts opts;
    struct ddb_config cfg;
    struct ddb_creds_provider *creds;
    struct ddb_http *http;
    struct ddb_client *client;
    struct ddb_workers *workers; /* read Scan pages off the I/O thread (fs_start_io) */
    struct cache_store *cache;
    char *cache_dir;
    time_t mounted;
    uid_t uid;
    gid_t gid;

    pthread_mutex_t lock;
    /* Under lock: */
    struct fs_table **tables;
    size_t ntables;
    double listed_at; /* 0: never */
    struct fs_upload *uploads; /* open uploads, for the report at unmount (upload.c) */
    int cut_off;               /* uploads cut off at unmount: ddbfs then exits 1 */
    void *open_handles; /* ops.c's file handles not released (a lazy unmount loses releases) */
};

/* tables.c */
/* Refreshes the table list when it is older than FS_TABLES_REFRESH_S (or force). Returns 0 or a
 * negative errno (logged). */
int fs_tables_refresh(struct fs *fs, int force);
/* The table named name if it is shown (not refreshed); borrowed: tables live as long as fs. */
struct fs_table *fs_table_find(struct fs *fs, const char *name);
/* Makes sure the table is described (DescribeTable, DescribeTimeToLive, budget, segments).
 * Returns 0 or a negative errno (logged). */
int fs_table_describe(struct fs_table *t);
void fs_tables_free(struct fs *fs);
/* Segment file name of segment i: "segment-0003-of-0016.json". */
void fs_segment_name(const struct fs_table *t, unsigned i, char *out, size_t len);
/* Parses a segment file name against the table's segmentation; returns the index or -1. */
long fs_segment_parse(const struct fs_table *t, const char *name);
/* mkdir: a pending table directory. 0, -EEXIST, -EINVAL (not a valid table name, logged). */
int fs_table_add_pending(struct fs *fs, const char *name);
/* rmdir of a pending directory that has no table yet. 0, -EPERM or -ENOTEMPTY. */
int fs_table_remove_pending(struct fs *fs, const char *name);
/* Creates the pending table t from a CreateTable document (the directory's name wins over its
 * TableName), waits until ACTIVE and describes it. 0 or a negative errno (logged). */
int fs_table_create(struct fs_table *t, json_t *doc, const char *file);
/* Checks a CreateTable document written into an existing table: 0 when the keys match, else -EIO
 * (logged). Never alters the table. */
int fs_table_check_schema(struct fs_table *t, const json_t *doc, const char *file);
/* After a write: the table's snapshots are stale. */
void fs_table_invalidate(struct fs_table *t);
/* 1 while a table made through this mount is being restored (uploads open, or one closed less
 * than FS_WRITTEN_TTL_S ago): its own files are hidden, so that the restoring tool's O_EXCL
 * creates find the names free. */
int fs_table_restoring(struct fs_table *t);
/* An upload into t opened (+1) or closed (-1). */
void fs_table_upload_count(struct fs_table *t, int delta);

/* The segment count for a table of size_bytes at budget RCU/s (segments=auto). */
unsigned fs_auto_segments(double size_bytes, double budget);
/* The read and write budgets of a table in RCU/s and WCU/s, from the options and its description. */
double fs_read_budget(const struct fs_opts *o, const struct ddb_table_info *info);
double fs_write_budget(const struct fs_opts *o, const struct ddb_table_info *info);

/* written.c: the just-written files of a table (each takes t->lock) */
/* Fills st for name; 0 or -ENOENT. */
int fs_written_stat(struct fs_table *t, const char *name, struct stat *st);
/* Makes (or, for an existing name, replaces) the entry and counts a writer. Borrowed pointer,
 * valid as long as the table. NULL when out of memory. */
struct fs_written *fs_written_open(struct fs_table *t, const char *name, mode_t mode, uid_t uid,
                                   gid_t gid);
void fs_written_grow(struct fs_table *t, struct fs_written *w, off_t size);
void fs_written_close(struct fs_table *t, struct fs_written *w);
/* Keeps w listed (no expiry) while its data is spooled (1), or lets it expire again (0). */
void fs_written_pin(struct fs_table *t, struct fs_written *w, int pinned);
int fs_written_rename(struct fs_table *t, const char *from, const char *to);
/* 0, -ENOENT, or -EBUSY while it is being written. */
int fs_written_unlink(struct fs_table *t, const char *name);
int fs_written_chmod(struct fs_table *t, const char *name, mode_t mode);
int fs_written_chown(struct fs_table *t, const char *name, uid_t uid, gid_t gid);
int fs_written_utimens(struct fs_table *t, const char *name, const struct timespec tv[2]);
/* Calls fn for each name (under the table's lock: fn must not call back into the table). */
void fs_written_list(struct fs_table *t, void (*fn)(const char *name, void *ud), void *ud);
void fs_written_free_all(struct fs_table *t);

/* upload.c: a file being written into a table directory */
/* name: as created; the kind (schema, ttl, data) is read from the name the tool means (rsync's
 * ".NAME.XXXXXX" temp names are seen through). Returns a new upload or NULL with a negative errno
 * (logged) in *rc: -EPERM for a data file in a table that has no schema yet. */
struct fs_upload *fs_upload_open(struct fs_table *t, const char *name, int *rc);
/* The just-written entry the upload keeps up to date (and closes at release). */
void fs_upload_attach(struct fs_upload *u, struct fs_written *w);
/* Bytes at off (which must follow the previous write: -EINVAL otherwise, logged). */
int fs_upload_write(struct fs_upload *u, const char *buf, size_t size, off_t off);
/* Returns when every item of the file so far is stored: 0, or -EIO when some could not be
 * (logged with file, lines and DynamoDB's message; the lines are in the rejects file).
 * end (close): the file ends here, so a last line without a newline is taken and a gzip stream
 * not finished is cut short. Without end (fsync): a partial line stays pending. */
int fs_upload_flush(struct fs_upload *u, int end);
int fs_upload_truncate(struct fs_upload *u, off_t size);
/* Flushes if needed and frees. */
void fs_upload_release(struct fs_upload *u);
/* "orders/segment-0001-of-0004.json" for messages. */
const char *fs_upload_path(const struct fs_upload *u);
/* At unmount (destroy, no request running, I/O thread still up): every upload still open is
 * ended. One written since its last flush was cut off: its complete lines are stored, and the log
 * names the file, the bytes and lines received and what was not stored. Then each is released. */
int fs_uploads_unmount(struct fs *fs); /* returns how many were cut off */

/* segment.c */
/* Starts snapshots of every segment of t in the background (as many at once as t->parallel).
 * Call with t described. */
void fs_table_prefetch(struct fs_table *t);
/* A new reference to segment i's current snapshot, starting it now if needed. NULL with a
 * negative errno in *rc. */
struct cache_entry *fs_segment_acquire(struct fs_table *t, unsigned i, int *rc);
/* Waits for the snapshot; 0 with size and mtime, or a negative errno (logged). */
int fs_segment_wait(struct fs_table *t, unsigned i, struct cache_entry *e, uint64_t *size,
                    time_t *mtime);
/* Stops every running scan and waits for them (at unmount). */
void fs_segments_stop(struct fs *fs);
/* The cache key of segment i. */
void fs_segment_key(const struct fs_table *t, unsigned i, char *out, size_t len);

/* errors.c: the one place where module errors become errno. Logs once, with context. */
int fs_errno_from_ddb(const struct ddb_error *err, const char *context);
int fs_errno_from_cache(enum cache_err code, const char *msg, const char *context);

#endif
