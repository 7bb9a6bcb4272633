/* Mount options: parsed with fuse_opt, checked before anything is mounted. */
#ifndef FS_OPTS_H
#define FS_OPTS_H

#include <fuse_opt.h>
#include <stdint.h>

#define FS_DEFAULT_READ_PERCENT 0.5
#define FS_DEFAULT_CACHE_SIZE "4G"
#define FS_DEFAULT_CACHE_TTL 3600
#define FS_ON_DEMAND_READ_DEFAULT 40000.0 /* RCU/s assumed for on-demand tables, as EMR does */
#define FS_DEFAULT_WRITE_PERCENT 0.5
#define FS_ON_DEMAND_WRITE_DEFAULT 40000.0 /* WCU/s assumed for on-demand tables */
#define FS_DEFAULT_RETRY_WINDOW 120   /* seconds of retries per request (DDB_RETRY_WINDOW_MS) */
#define FS_DEFAULT_REQUEST_TIMEOUT 60 /* seconds one HTTP attempt may take */

enum fs_format { FS_FORMAT_JSON = 0, FS_FORMAT_JSON_GZ };

struct fs_opts {
    /* As given (strings owned, from fuse_opt): */
    char *source;
    char *region;
    char *profile;
    char *endpoint;
    char *tables;     /* GLOB[:GLOB...] */
    char *segments_s; /* "auto" or N */
    char *read_percent_s;
    char *read_capacity_s;
    char *write_percent_s;
    char *write_capacity_s;
    char *cache_dir;
    char *cache_size_s;
    char *cache_ttl_s;
    char *format_s;
    char *ca_file;
    char *shard_s;    /* "K/M" */
    char *retry_window_s;
    char *request_timeout_s;
    int consistent_read;
    int log_throttle;
    int show_help;
    int show_version;
    int nonopts;

    /* Checked values: */
    unsigned segments; /* 0: auto */
    double read_percent;
    double read_capacity; /* 0: not set */
    double write_percent;
    double write_capacity; /* 0: not set */
    uint64_t cache_size;
    double cache_ttl;
    enum fs_format format;
    unsigned shard_k, shard_m; /* this host's shard K of M (0 of 1: every segment) */
    double retry_window;    /* seconds of retries per request */
    double request_timeout; /* seconds */
};

/* Parses args (options are removed from it; FUSE's own stay). Returns 0, or -1 after printing a
 * message naming the bad option. */
int fs_opts_parse(struct fuse_args *args, struct fs_opts *o);
/* Checks values and fills the checked fields. Returns 0, or -1 after printing a message. */
int fs_opts_check(struct fs_opts *o);
void fs_opts_cleanup(struct fs_opts *o);
void fs_opts_usage(const char *prog);

/* "1G", "512M", "100k", "12345" -> bytes. Returns 0 or -1. */
int fs_parse_size(const char *s, uint64_t *out);
/* shard=K/M: 1 when segment i is this host's (i % M == K), always when there is no shard. */
static inline int fs_opts_shard_owns(const struct fs_opts *o, unsigned i)
{
    return o->shard_m <= 1 || i % o->shard_m == o->shard_k;
}
/* "K/M" -> *k, *m (0 <= K < M, 1 <= M <= 1,000,000). Returns 0 or -1. */
int fs_opts_parse_shard(const char *s, unsigned *k, unsigned *m);
/* 1 when opt is read only by mount(8) or systemd (_netdev, nofail, x-systemd.*, ...): dropped. */
int fs_opts_mount_only(const char *opt);
/* 1 when name matches one of the colon-separated globs (or globs is NULL). */
int fs_opts_table_wanted(const struct fs_opts *o, const char *name);

#endif
