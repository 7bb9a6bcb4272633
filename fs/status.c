/* `ddbfs status [--once] MNT [TABLE...]`: the progress of a mount, read from its user.ddbfs.*
 * extended attributes (fs/progress.c). On a terminal, a table with progress bars redrawn every
 * second until no table is busy (or ctrl-C); with --once, or when stdout is not a terminal, one
 * snapshot. Never touches the mount otherwise (listing the root is a ListTables at most). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs/progress.h"
#include "fs/rate.h"

#define BAR_WIDTH 24
#define MAX_TABLES 4096

struct row {
    char name[256];
    char state[32], eta[32], verified[256];
    double total, done, scanning, queued, failed;
    double items, bytes, expected, items_s, bytes_s;
    double r_files, r_written, r_rejected, r_expected;
    int ok;
};

static int get(const char *path, const char *name, char *out, size_t len)
{
    ssize_t n = getxattr(path, name, out, len - 1);
    if (n < 0) {
        out[0] = '\0';
        return -1;
    }
    out[n] = '\0';
    return 0;
}

static double num(const char *path, const char *name)
{
    char v[64];
    if (get(path, name, v, sizeof v) != 0)
        return -1;
    char *end;
    double d = strtod(v, &end);
    return end == v ? -1 : d; /* "unknown": -1 */
}

static void read_row(const char *mnt, const char *table, struct row *r)
{
    char path[4096];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", table);
    snprintf(path, sizeof path, "%s/%s", mnt, table);
    if (get(path, FS_XATTR_PREFIX "state", r->state, sizeof r->state) != 0) {
        snprintf(r->state, sizeof r->state, "%s", errno == ENOENT ? "no such table" : "unreadable");
        return;
    }
    r->ok = 1;
    r->total = num(path, FS_XATTR_PREFIX "segments.total");
    r->done = num(path, FS_XATTR_PREFIX "segments.done");
    r->scanning = num(path, FS_XATTR_PREFIX "segments.scanning");
    r->queued = num(path, FS_XATTR_PREFIX "segments.queued");
    r->failed = num(path, FS_XATTR_PREFIX "segments.failed");
    r->items = num(path, FS_XATTR_PREFIX "items");
    r->bytes = num(path, FS_XATTR_PREFIX "bytes");
    r->expected = num(path, FS_XATTR_PREFIX "items_expected");
    r->items_s = num(path, FS_XATTR_PREFIX "rate.items_per_s");
    r->bytes_s = num(path, FS_XATTR_PREFIX "rate.bytes_per_s");
    get(path, FS_XATTR_PREFIX "eta", r->eta, sizeof r->eta);
    r->r_files = num(path, FS_XATTR_PREFIX "restore.files");
    r->r_written = num(path, FS_XATTR_PREFIX "restore.items_written");
    r->r_rejected = num(path, FS_XATTR_PREFIX "restore.items_rejected");
    r->r_expected = num(path, FS_XATTR_PREFIX "restore.items_expected");
    get(path, FS_XATTR_PREFIX "restore.verified", r->verified, sizeof r->verified);
}

static int busy(const struct row *r)
{
    return r->ok && (!strcmp(r->state, "scanning") || !strcmp(r->state, "queued") ||
                     !strcmp(r->state, "restoring"));
}

/* Fraction done: by items when the table's item count is known, else by segments. */
static double fraction(const struct row *r)
{
    if (!strcmp(r->state, "done"))
        return 1;
    if (!strcmp(r->state, "restoring") && r->r_expected > 0)
        return r->r_written / r->r_expected > 1 ? 1 : r->r_written / r->r_expected;
    double f = r->expected > 0 ? r->items / r->expected : r->total > 0 ? r->done / r->total : 0;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

static void print_plain(FILE *out, const struct row *r)
{
    if (!r->ok) {
        fprintf(out, "%s state=%s\n", r->name, r->state);
        return;
    }
    char expected[32] = "unknown";
    if (r->expected > 0)
        snprintf(expected, sizeof expected, "%.0f", r->expected);
    fprintf(out,
            "%s state=%s segments=%.0f/%.0f scanning=%.0f queued=%.0f failed=%.0f items=%.0f "
            "items_expected=%s bytes=%.0f rate_items_per_s=%.1f rate_bytes_per_s=%.0f eta=%s "
            "restore_files=%.0f restore_items_written=%.0f restore_items_rejected=%.0f "
            "restore_verified=\"%s\"\n",
            r->name, r->state, r->done, r->total, r->scanning, r->queued, r->failed, r->items,
            expected, r->bytes, r->items_s, r->bytes_s, r->eta, r->r_files, r->r_written,
            r->r_rejected, r->verified);
}

static void print_pretty(FILE *out, const struct row *rows, size_t n)
{
    fprintf(out, "%-24s %-10s %-*s %9s %12s %10s %12s %10s\n", "TABLE", "STATE", BAR_WIDTH + 7,
            "PROGRESS", "SEGMENTS", "ITEMS", "BYTES", "RATE", "ETA");
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        if (!r->ok) {
            fprintf(out, "%-24s %s\n", r->name, r->state);
            continue;
        }
        char bar[BAR_WIDTH + 1], segs[32], b[32], rate[32], items[32];
        double f = fraction(r);
        int fill = (int)(f * BAR_WIDTH + 0.5);
        for (int k = 0; k < BAR_WIDTH; k++)
            bar[k] = k < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        snprintf(segs, sizeof segs, "%.0f/%.0f", r->done, r->total);
        snprintf(rate, sizeof rate, "%.0f it/s", r->items_s > 0 ? r->items_s : 0);
        snprintf(items, sizeof items, "%.0f", r->items);
        fprintf(out, "%-24s %-10s [%s] %3.0f%% %9s %12s %10s %12s %10s\n", r->name, r->state, bar,
                f * 100, segs, items, fs_bytes_format(r->bytes, b, sizeof b), rate, r->eta);
        if (r->r_files > 0 || r->r_written > 0 || strcmp(r->verified, "none") != 0)
            fprintf(out, "%-24s restore: %.0f files, %.0f items written, %.0f rejected%s%s\n", "",
                    r->r_files, r->r_written, r->r_rejected,
                    strcmp(r->verified, "none") ? "; manifest: " : "",
                    strcmp(r->verified, "none") ? r->verified : "");
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: ddbfs status [--once] MOUNTPOINT [TABLE...]\n"
                 "Shows the progress of the exports and restores of a ddbfs mount (from its\n"
                 "user.ddbfs.* extended attributes). On a terminal it redraws every second until\n"
                 "no table is busy; --once (or a pipe) prints one snapshot.\n");
}

int fs_status_main(int argc, char **argv)
{
    int once = 0, ret = 1;
    const char *mnt = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    struct row *rows = NULL;
    tables = calloc(MAX_TABLES, sizeof *tables);
    if (!tables)
        goto out;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--once"))
            once = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            ret = 0;
            goto out;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ddbfs status: unknown option %s\n", argv[i]);
            usage(stderr);
            ret = 2;
            goto out;
        } else if (!mnt)
            mnt = argv[i];
        else if (ntables < MAX_TABLES && !(tables[ntables++] = strdup(argv[i])))
            goto out;
    }
    if (!mnt) {
        usage(stderr);
        ret = 2;
        goto out;
    }
    char v[256];
    if (getxattr(mnt, FS_XATTR_PREFIX "mount", v, sizeof v - 1) < 0) {
        int e = errno;
        char eb[128] = "";
        if (e == ENOENT || e == ENOTDIR || e == EACCES)
            fprintf(stderr, "ddbfs status: %s: %s\n", mnt, strerror_r(e, eb, sizeof eb));
        else
            fprintf(stderr,
                    "ddbfs status: %s is not a ddbfs mount (it has no %smount attribute); "
                    "give the directory ddbfs is mounted on\n",
                    mnt, FS_XATTR_PREFIX);
        goto out;
    }
    if (ntables == 0) {
        DIR *d = opendir(mnt);
        struct dirent *de;
        if (!d) {
            char eb[128];
            fprintf(stderr, "ddbfs status: cannot list %s: %s\n", mnt,
                    strerror_r(errno, eb, sizeof eb));
            goto out;
        }
        while ((de = readdir(d)) && ntables < MAX_TABLES)
            if (de->d_name[0] != '.' && !(tables[ntables++] = strdup(de->d_name))) {
                closedir(d);
                goto out;
            }
        closedir(d);
        qsort(tables, ntables, sizeof *tables, cmp_name);
    }
    rows = calloc(ntables ? ntables : 1, sizeof *rows);
    if (!rows)
        goto out;
    int tty = isatty(STDOUT_FILENO);
    for (;;) {
        int any_busy = 0, all_ok = 1;
        for (size_t i = 0; i < ntables; i++) {
            read_row(mnt, tables[i], &rows[i]);
            any_busy |= busy(&rows[i]);
            all_ok &= rows[i].ok;
        }
        if (!tty) {
            for (size_t i = 0; i < ntables; i++)
                print_plain(stdout, &rows[i]);
        } else {
            if (!once)
                fputs("\033[H\033[J", stdout);
            print_pretty(stdout, rows, ntables);
        }
        fflush(stdout);
        ret = all_ok ? 0 : 1;
        if (once || !tty || !any_busy)
            break;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
out:
    for (size_t i = 0; tables && i < ntables; i++)
        free(tables[i]);
    free(tables);
    free(rows);
    return ret;
}
