/* The filesystem's state, shared by the fs/ files. Only fs/ sees all three rooms. */
#ifndef FS_FS_H
#define FS_FS_H

#include <jansson.h>
#include <pthread.h>
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

#define FS_SCHEMA_NAME "_schema.json"
#define FS_TTL_NAME "_ttl.json" /* only when the table has Time to Live on */
#define FS_TABLES_REFRESH_S 5.0     /* ListTables again at most this often */
#define FS_TABLE_REFRESH_S 60.0     /* DescribeTable again at most this often */
#define FS_MIN_SEGMENT_BYTES (64ull << 20) /* auto: no segment smaller than this */
#define FS_SEGMENT_BYTES (1ull << 30)      /* auto: at least one segment per GiB */
#define FS_RCU_PER_SCAN 1000.0      /* auto: one scan stream per this much budget */
#define FS_MAX_PARALLEL_SCANS 64

struct fs;
struct fs_table;

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
    int failed;
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
};

struct fs {
    struct fs_opts opts;
    struct ddb_config cfg;
    struct ddb_creds_provider *creds;
    struct ddb_http *http;
    struct ddb_client *client;
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
/* The segment count for a table of size_bytes at budget RCU/s (segments=auto). */
unsigned fs_auto_segments(double size_bytes, double budget);
/* The read budget of a table in RCU/s, from the options and its description. */
double fs_read_budget(const struct fs_opts *o, const struct ddb_table_info *info);

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
