#include "fs/opts.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

enum { KEY_HELP, KEY_VERSION };

#define OPT(t, p) {t, offsetof(struct fs_opts, p), 1}
static const struct fuse_opt spec[] = {
    OPT("region=%s", region),
    OPT("profile=%s", profile),
    OPT("endpoint=%s", endpoint),
    OPT("tables=%s", tables),
    OPT("segments=%s", segments_s),
    OPT("read_percent=%s", read_percent_s),
    OPT("read_capacity=%s", read_capacity_s),
    OPT("write_percent=%s", write_percent_s),
    OPT("write_capacity=%s", write_capacity_s),
    OPT("cache_dir=%s", cache_dir),
    OPT("cache_size=%s", cache_size_s),
    OPT("cache_ttl=%s", cache_ttl_s),
    OPT("format=%s", format_s),
    OPT("ca_file=%s", ca_file),
    OPT("shard=%s", shard_s),
    OPT("retry_window=%s", retry_window_s),
    OPT("request_timeout=%s", request_timeout_s),
    OPT("consistent_read", consistent_read),
    OPT("log_throttle", log_throttle),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END,
};

/* Options that only mount(8), systemd and other fstab readers act on: dropped here, never passed
 * to FUSE (which refuses them). An entry ending in '=' or '-' matches every option it begins. */
static const char *const mount_only[] = {
    "defaults", "auto", "noauto", "user", "user=", "nouser", "users", "owner", "group",
    "_netdev", "nofail", "comment=", "x-", "X-", NULL,
};

int fs_opts_mount_only(const char *opt)
{
    for (size_t i = 0; mount_only[i]; i++) {
        size_t n = strlen(mount_only[i]);
        char last = mount_only[i][n - 1];
        if (last == '=' || last == '-' ? strncmp(opt, mount_only[i], n) == 0
                                       : strcmp(opt, mount_only[i]) == 0)
            return 1;
    }
    return 0;
}

static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct fs_opts *o = data;
    switch (key) {
    case KEY_HELP:
        o->show_help = 1;
        return 0;
    case KEY_VERSION:
        o->show_version = 1;
        return 0;
    case FUSE_OPT_KEY_NONOPT:
        /* The first is SOURCE (ours); the second, the mount point, is FUSE's. */
        if (o->nonopts++ == 0) {
            o->source = strdup(arg);
            return 0;
        }
        return 1;
    case FUSE_OPT_KEY_OPT:
        return fs_opts_mount_only(arg) ? 0 : 1;
    default:
        return 1;
    }
}

int fs_opts_parse(struct fuse_args *args, struct fs_opts *o)
{
    memset(o, 0, sizeof *o);
    if (fuse_opt_parse(args, o, spec, proc) != 0) {
        fprintf(stderr, "ddbfs: could not parse the options (see ddbfs --help)\n");
        return -1;
    }
    return 0;
}

int fs_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v))
        return -1;
    double mult = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k': case 'K':
        mult = 1024.0;
        end++;
        break;
    case 'm': case 'M':
        mult = 1024.0 * 1024;
        end++;
        break;
    case 'g': case 'G':
        mult = 1024.0 * 1024 * 1024;
        end++;
        break;
    case 't': case 'T':
        mult = 1024.0 * 1024 * 1024 * 1024;
        end++;
        break;
    default:
        return -1;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

int fs_opts_parse_shard(const char *s, unsigned *k, unsigned *m)
{
    unsigned long kk, mm;
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    kk = strtoul(s, &end, 10);
    if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
        return -1;
    mm = strtoul(end + 1, &end, 10);
    if (errno || *end || mm < 1 || mm > DDB_SEGMENTS_MAX || kk >= mm)
        return -1;
    *k = (unsigned)kk;
    *m = (unsigned)mm;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "ddbfs: " __VA_ARGS__);                                                    \
        fputc('\n', stderr);                                                                       \
        return -1;                                                                                 \
    } while (0)

/* retry_window= and request_timeout=: how long one request may be retried, and how long one
 * attempt may take (the test suite shortens both to reach their ends quickly). */
static int check_retry(struct fs_opts *o)
{
    o->retry_window = FS_DEFAULT_RETRY_WINDOW;
    if (o->retry_window_s && (parse_double(o->retry_window_s, &o->retry_window) ||
                              o->retry_window < 1 || o->retry_window > 86400))
        BAD("bad value for option retry_window=%s: expected seconds from 1 to 86400 (default %d)",
            o->retry_window_s, FS_DEFAULT_RETRY_WINDOW);
    o->request_timeout = FS_DEFAULT_REQUEST_TIMEOUT;
    if (o->request_timeout_s && (parse_double(o->request_timeout_s, &o->request_timeout) ||
                                 o->request_timeout < 1 || o->request_timeout > 3600))
        BAD("bad value for option request_timeout=%s: expected seconds from 1 to 3600 (default "
            "%d)",
            o->request_timeout_s, FS_DEFAULT_REQUEST_TIMEOUT);
    return 0;
}

int fs_opts_check(struct fs_opts *o)
{
    o->segments = 0;
    if (o->segments_s && strcmp(o->segments_s, "auto") != 0) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(o->segments_s, &end, 10);
        if (errno || end == o->segments_s || *end || n < 1 || n > DDB_SEGMENTS_MAX ||
            o->segments_s[0] == '-')
            BAD("bad value for option segments=%s: expected auto or a whole number from 1 to %d",
                o->segments_s, DDB_SEGMENTS_MAX);
        o->segments = (unsigned)n;
    }
    o->read_percent = FS_DEFAULT_READ_PERCENT;
    if (o->read_percent_s &&
        (parse_double(o->read_percent_s, &o->read_percent) || o->read_percent <= 0 ||
         o->read_percent > 1.5))
        BAD("bad value for option read_percent=%s: expected a share of the table's read capacity "
            "above 0 and at most 1.5 (default %.1f)",
            o->read_percent_s, FS_DEFAULT_READ_PERCENT);
    o->read_capacity = 0;
    if (o->read_capacity_s &&
        (parse_double(o->read_capacity_s, &o->read_capacity) || o->read_capacity <= 0))
        BAD("bad value for option read_capacity=%s: expected read capacity units per second above 0",
            o->read_capacity_s);
    o->write_percent = FS_DEFAULT_WRITE_PERCENT;
    if (o->write_percent_s &&
        (parse_double(o->write_percent_s, &o->write_percent) || o->write_percent <= 0 ||
         o->write_percent > 1.5))
        BAD("bad value for option write_percent=%s: expected a share of the table's write capacity "
            "above 0 and at most 1.5 (default %.1f)",
            o->write_percent_s, FS_DEFAULT_WRITE_PERCENT);
    o->write_capacity = 0;
    if (o->write_capacity_s &&
        (parse_double(o->write_capacity_s, &o->write_capacity) || o->write_capacity <= 0))
        BAD("bad value for option write_capacity=%s: expected write capacity units per second "
            "above 0",
            o->write_capacity_s);
    if (fs_parse_size(o->cache_size_s ? o->cache_size_s : FS_DEFAULT_CACHE_SIZE, &o->cache_size) ||
        o->cache_size < (1u << 20))
        BAD("bad value for option cache_size=%s: expected a size of at least 1M such as 512M or 8G",
            o->cache_size_s);
    o->cache_ttl = FS_DEFAULT_CACHE_TTL;
    if (o->cache_ttl_s && (parse_double(o->cache_ttl_s, &o->cache_ttl) || o->cache_ttl < 0))
        BAD("bad value for option cache_ttl=%s: expected seconds (0 or more)", o->cache_ttl_s);
    o->format = FS_FORMAT_JSON;
    if (o->format_s) {
        if (strcmp(o->format_s, "json") == 0)
            o->format = FS_FORMAT_JSON;
        else if (strcmp(o->format_s, "json.gz") == 0)
            o->format = FS_FORMAT_JSON_GZ;
        else
            BAD("bad value for option format=%s: expected json or json.gz", o->format_s);
    }
    if (check_retry(o) != 0)
        return -1;
    if (o->endpoint && strncmp(o->endpoint, "http://", 7) != 0 &&
        strncmp(o->endpoint, "https://", 8) != 0)
        BAD("bad value for option endpoint=%s: expected a URL such as "
            "https://dynamodb.us-east-1.amazonaws.com",
            o->endpoint);
    o->shard_k = 0;
    o->shard_m = 1;
    if (o->shard_s && fs_opts_parse_shard(o->shard_s, &o->shard_k, &o->shard_m))
        BAD("bad value for option shard=%s: expected K/M, this host's shard K (0 to M-1, as "
            "JOB_COMPLETION_INDEX) of M hosts, such as shard=0/3",
            o->shard_s);
    if (o->shard_m > 1 && !o->segments)
        BAD("option shard=%s needs segments=N (the same N on all %u hosts, at least %u), so that "
            "every host splits each table the same way",
            o->shard_s, o->shard_m, o->shard_m);
    if (o->shard_m > 1 && o->segments < o->shard_m)
        BAD("option shard=%s needs segments=N with N at least %u (segments=%u would leave a host "
            "without a segment)",
            o->shard_s, o->shard_m, o->segments);
    if (o->tables && !*o->tables)
        BAD("bad value for option tables=: expected table names or shell globs separated by ':'");
    if (!o->source)
        BAD("missing SOURCE: give a region (e.g. us-east-1) or 'default', then the mount point "
            "(see ddbfs --help)");
    if (o->nonopts < 2)
        BAD("missing MOUNTPOINT (see ddbfs --help)");
    if (o->nonopts > 2)
        BAD("too many arguments: expected SOURCE MOUNTPOINT (see ddbfs --help)");
    return 0;
}

int fs_opts_table_wanted(const struct fs_opts *o, const char *name)
{
    if (!o->tables)
        return 1;
    const char *p = o->tables;
    while (*p) {
        size_t len = strcspn(p, ":");
        char glob[512];
        if (len < sizeof glob) {
            memcpy(glob, p, len);
            glob[len] = '\0';
            if (fnmatch(glob, name, 0) == 0)
                return 1;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return 0;
}

void fs_opts_cleanup(struct fs_opts *o)
{
    char **strs[] = {&o->source, &o->region, &o->profile, &o->endpoint, &o->tables,
                     &o->segments_s, &o->read_percent_s, &o->read_capacity_s, &o->write_percent_s, &o->write_capacity_s, &o->cache_dir,
                     &o->cache_size_s, &o->cache_ttl_s, &o->format_s, &o->ca_file, &o->shard_s,
                     &o->retry_window_s, &o->request_timeout_s};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}

void fs_opts_usage(const char *prog)
{
    printf("usage: %s [options] SOURCE MOUNTPOINT\n"
           "\n"
           "Shows DynamoDB tables as directories of segment files, so that cp, rsync and tar\n"
           "back them up. SOURCE is a region (e.g. us-east-1), or 'default' to take the region\n"
           "from the AWS configuration (AWS_REGION, AWS_DEFAULT_REGION, the profile).\n"
           "\n"
           "ddbfs options:\n"
           "    -o region=REGION       region (overrides SOURCE)\n"
           "    -o profile=NAME        AWS profile (default: AWS_PROFILE, else 'default')\n"
           "    -o endpoint=URL        DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB,\n"
           "                           AWS_ENDPOINT_URL, the profile, else the region's)\n"
           "    -o tables=GLOB[:GLOB]  tables to show: names or shell globs, ':'-separated\n"
           "                           (default: all)\n"
           "    -o segments=N|auto     segment files per table (default: auto, see ddbfs(8))\n"
           "    -o read_percent=F      share of a table's read capacity to use (default %.1f);\n"
           "                           on-demand tables: of their maximum, else of %.0f RCU\n"
           "    -o read_capacity=RCU   absolute read budget per table in RCU/s (overrides\n"
           "                           read_percent)\n"
           "    -o write_percent=F     share of a table's write capacity to use when files are\n"
           "                           written into it (default %.1f); on-demand: as for reads\n"
           "    -o write_capacity=WCU  absolute write budget per table in WCU/s\n"
           "    -o consistent_read     strongly consistent scans (twice the capacity)\n"
           "    -o format=json|json.gz segment format (default json; json.gz as native exports)\n"
           "    -o cache_dir=DIR       where snapshots are kept, one per mount (default:\n"
           "                           ~/.cache/ddbfs/<mount point>, or under $XDG_CACHE_HOME)\n"
           "    -o cache_size=SIZE     bound on the snapshots kept (default %s). rsync and ls -l\n"
           "                           stat every file first, so they need room for the whole\n"
           "                           table's export (json.gz: about a fifth); cp and tar need\n"
           "                           room for the segments being copied at once\n"
           "    -o cache_ttl=SECONDS   a snapshot not used for this long is taken again\n"
           "                           (default %d)\n"
           "    -o ca_file=FILE        CA certificates for TLS (default: the system's);\n"
           "                           certificates are always verified\n"
           "    -o allow_other         let other users use the mount (FUSE's); ddbfs then turns\n"
           "                           on default_permissions: by the modes it reports, they\n"
           "                           may list and read tables, not write into them\n"
           "    -o shard=K/M           show this host only segments i with i %% M == K (K from 0,\n"
           "                           as JOB_COMPLETION_INDEX) and use 1/M of each budget, so\n"
           "                           M hosts share one table; needs segments=N, N >= M\n"
           "    -o retry_window=SECONDS  how long a request that is throttled or fails (HTTP\n"
           "                           5xx, network) is retried before the operation fails\n"
           "                           with EIO (default %d)\n"
           "    -o request_timeout=SECONDS  how long one attempt may take (default %d)\n"
           "    -o log_throttle        log the capacity every Scan page and BatchWriteItem\n"
           "                           consumed (benchmarks)\n"
           "    Options only mount(8) and systemd read (_netdev, nofail, noauto, auto, user,\n"
           "    users, nouser, owner, group, defaults, comment=, x-*, X-*) are ignored.\n"
           "\n",
           prog, FS_DEFAULT_READ_PERCENT, FS_ON_DEMAND_READ_DEFAULT, FS_DEFAULT_WRITE_PERCENT,
           FS_DEFAULT_CACHE_SIZE,
           FS_DEFAULT_CACHE_TTL, FS_DEFAULT_RETRY_WINDOW, FS_DEFAULT_REQUEST_TIMEOUT);
    printf("usage: %s status [--once] MOUNTPOINT [TABLE...]\n"
           "\n"
           "Shows the progress of a mount's exports and restores (read from the user.ddbfs.*\n"
           "extended attributes of its table directories and segment files, which getfattr -d\n"
           "also shows): a live table with progress bars on a terminal, one snapshot with\n"
           "--once or into a pipe. Each table directory also holds segments.sha256, the\n"
           "manifest of its segments: check a backup with `sha256sum -c segments.sha256`;\n"
           "copied into a table directory after the segments, it checks the restore.\n"
           "\n",
           prog);
}
