/* mount.ddbfs: mount(8)'s helper command line turned into ddbfs's own (see fs/helper.h). */
#include "fs/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELPER_USAGE "usage: mount.ddbfs SOURCE DIR [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]"

int fs_helper_is_helper(const char *prog)
{
    if (!prog)
        return 0;
    const char *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    return strncmp(base, "mount.", 6) == 0;
}

/* Appends s to the comma-separated list *opts (new string). 0 or -1. */
static int add_opts(char **opts, const char *s)
{
    char *joined = NULL;
    if (!*s)
        return 0;
    if (asprintf(&joined, "%s%s%s", *opts ? *opts : "", *opts ? "," : "", s) < 0)
        return -1;
    free(*opts);
    *opts = joined;
    return 0;
}

static int set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

static int bad(char *msg, size_t len, const char *what, const char *arg)
{
    snprintf(msg, len, "%s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "", HELPER_USAGE);
    return -1;
}

int fs_helper_parse(int argc, char **argv, struct fs_helper *h, char *msg, size_t len)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, rc = -1;
    char *opts = NULL;
    memset(h, 0, sizeof *h);
    h->active = 1;
    msg[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (npos == 2) {
                bad(msg, len, "too many arguments", a);
                goto out;
            }
            pos[npos++] = a;
            continue;
        }
        /* Clustered flags (-fv); -o, -N and -t take the rest of the word or the next one. */
        for (const char *f = a + 1; *f; f++) {
            if (*f == 'o' || *f == 'N' || *f == 't') {
                const char *val = f[1] ? f + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!val) {
                    char flag[3] = {'-', *f, '\0'};
                    bad(msg, len, "missing value after", flag);
                    goto out;
                }
                if (*f == 'o' && add_opts(&opts, val) != 0)
                    goto nomem;
                if (*f == 'N' && set_str(&h->ns, val) != 0)
                    goto nomem;
                if (*f == 't' && set_str(&h->type, val) != 0)
                    goto nomem;
                break;
            }
            switch (*f) {
            case 'f':
                h->fake = 1;
                break;
            case 'v':
                h->verbose = 1;
                break;
            case 's':
                h->sloppy = 1;
                break;
            case 'n':
                h->no_mtab = 1;
                break;
            case 'h':
                snprintf(msg, len, "%s", HELPER_USAGE);
                goto out;
            default: {
                char flag[3] = {'-', *f, '\0'};
                bad(msg, len, "unknown flag", flag);
                goto out;
            }
            }
        }
    }
    if (npos < 2) {
        bad(msg, len, npos ? "missing DIR (the mount point)" : "missing SOURCE and DIR", NULL);
        goto out;
    }
    if (h->type && strcmp(h->type, "ddbfs") != 0 && strcmp(h->type, "fuse.ddbfs") != 0) {
        bad(msg, len, "not a ddbfs type (expected ddbfs or fuse.ddbfs)", h->type);
        goto out;
    }
    h->argv = calloc(6, sizeof *h->argv);
    if (!h->argv || !(h->argv[h->argc++] = strdup(argv[0])))
        goto nomem;
    if (opts) {
        if (!(h->argv[h->argc++] = strdup("-o")))
            goto nomem;
        h->argv[h->argc++] = opts;
        opts = NULL;
    }
    for (int k = 0; k < 2; k++)
        if (!(h->argv[h->argc++] = strdup(pos[k])))
            goto nomem;
    rc = 0;
    goto out;
nomem:
    snprintf(msg, len, "out of memory");
out:
    free(opts);
    return rc;
}

int fs_helper_enter_ns(const struct fs_helper *h, char *msg, size_t len)
{
    if (!h->active || !h->ns)
        return 0;
    char path[512];
    if (strspn(h->ns, "0123456789") == strlen(h->ns))
        snprintf(path, sizeof path, "/proc/%s/ns/mnt", h->ns);
    else
        snprintf(path, sizeof path, "%s", h->ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNS) != 0) {
        char eb[128];
        snprintf(msg, len, "-N %s: cannot enter the mount namespace %s: %s", h->ns, path,
                 strerror_r(errno, eb, sizeof eb));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

void fs_helper_cleanup(struct fs_helper *h)
{
    if (h->argv)
        for (int i = 0; i < h->argc; i++)
            free(h->argv[i]);
    free(h->argv);
    free(h->ns);
    free(h->type);
    memset(h, 0, sizeof *h);
}
