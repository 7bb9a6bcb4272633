/* ddbfs: parse and check everything, reach DynamoDB once, then mount and daemonize (as sshfs
 * connects before fuse_daemonize), so that a mistake reaches the user's terminal. */
#define FUSE_USE_VERSION 312
#include <curl/curl.h>
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/fs.h"
#include "fs/helper.h"
#include "fs/ops.h"

#define DDBFS_VERSION "0.1.0"
#define CHECK_WINDOW_MS 15000 /* the check before mounting gives up after this */

static struct ddb_client *make_client(struct fs *fs, struct ddb_http *http, long window_ms,
                                      struct ddb_error *err)
{
    struct ddb_client_opts co = {
        .endpoint = fs->cfg.endpoint,
        .region = fs->cfg.region,
        .creds = fs->creds,
        .transport = ddb_http_transport(http),
    };
    ddb_backoff_init(&co.backoff);
    co.backoff.window_ms = window_ms ? window_ms : (long)(fs->opts.retry_window * 1000.0);
    return ddb_client_new(&co, err);
}

static struct ddb_http *make_http(struct fs *fs, struct ddb_error *err)
{
    struct ddb_http_opts ho = {.ca_file = fs->opts.ca_file,
                               .timeout_ms = (long)(fs->opts.request_timeout * 1000.0)};
    return ddb_http_new(&ho, err);
}

int fs_start_io(struct fs *fs)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    fs->http = make_http(fs, &err);
    if (fs->http)
        fs->client = make_client(fs, fs->http, 0, &err);
    if (!fs->client) {
        log_error("could not start the DynamoDB client: %s", err.message);
        return -1;
    }
    /* As many page readers as CPUs: the I/O thread then only moves bytes. Without them (out of
     * threads), pages are read on the I/O thread. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus < 1 ? 1 : cpus > FS_PAGE_WORKERS_MAX ? FS_PAGE_WORKERS_MAX : (int)cpus;
    fs->workers = ddb_workers_new(n, &err);
    if (!fs->workers)
        log_warn("reading Scan pages on the I/O thread: %s", err.message);
    return 0;
}

void fs_stop_io(struct fs *fs)
{
    fs_segments_stop(fs);
    /* The pages in hand are read first: they may still use the engine. */
    ddb_workers_stop(fs->workers);
    ddb_http_free(fs->http); /* ends every call and timer still pending */
    fs->http = NULL;
    ddb_client_free(fs->client);
    fs->client = NULL;
    ddb_workers_free(fs->workers);
    fs->workers = NULL;
}

/* Reaches DynamoDB with ListTables before mounting: the endpoint, the credentials and the
 * region are right, or the user is told now. */
static int check_service(struct fs *fs)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_http *http = make_http(fs, &err);
    struct ddb_client *c = http ? make_client(fs, http, CHECK_WINDOW_MS, &err) : NULL;
    char **names = NULL;
    size_t n = 0;
    int rc = -1;
    if (c && ddb_list_tables(c, &names, &n, &err) == 0)
        rc = 0;
    if (rc) {
        fprintf(stderr, "ddbfs: cannot use DynamoDB at %s (region %s, credentials from %s): %s\n",
                fs->cfg.endpoint, fs->cfg.region, ddb_creds_source(fs->creds), err.message);
    } else if (fs->opts.tables) {
        /* Name exact tables that are not there; globs may match nothing yet. */
        const char *p = fs->opts.tables;
        while (*p) {
            size_t len = strcspn(p, ":");
            char want[512];
            if (len < sizeof want && !memchr(p, '*', len) && !memchr(p, '?', len) &&
                !memchr(p, '[', len)) {
                memcpy(want, p, len);
                want[len] = '\0';
                int found = 0;
                for (size_t i = 0; i < n && !found; i++)
                    found = strcmp(names[i], want) == 0;
                if (!found)
                    fprintf(stderr, "ddbfs: warning: table %s (from tables=) does not exist at %s; "
                                    "it is not shown\n",
                            want, fs->cfg.endpoint);
            }
            p += len;
            if (*p == ':')
                p++;
        }
    }
    ddb_strv_free(names);
    ddb_http_free(http);
    ddb_client_free(c);
    return rc;
}

/* $XDG_CACHE_HOME/ddbfs/<mount point> (else ~/.cache/ddbfs/..., else /var/cache/ddbfs/...):
 * one directory per mount point, so that two mounts never share one. mount(8) runs helpers without
 * HOME: a user's mount (fstab `user`) then takes the home directory from the password database;
 * root's goes to /var/cache/ddbfs. */
static char *default_cache_dir(const char *mountpoint)
{
    char *dir = NULL, *real = realpath(mountpoint, NULL);
    const char *mp = real ? real : mountpoint;
    char name[512];
    size_t o = 0;
    for (const char *p = mp; *p && o + 4 < sizeof name; p++) {
        char c = *p;
        if (c == '/')
            c = o ? '-' : 'm';
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_'))
            c = '_';
        name[o++] = c;
    }
    name[o] = '\0';
    free(real);
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    struct passwd pw, *pwp = NULL;
    char pwbuf[4096];
    if ((!home || !*home) && getuid() != 0 &&
        getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp && pwp->pw_dir)
        home = pwp->pw_dir;
    int rc;
    if (xdg && *xdg)
        rc = asprintf(&dir, "%s/ddbfs/%s", xdg, name);
    else if (home && *home)
        rc = asprintf(&dir, "%s/.cache/ddbfs/%s", home, name);
    else
        rc = asprintf(&dir, "/var/cache/ddbfs/%s", name);
    return rc < 0 ? NULL : dir;
}

static int mkdir_parents(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0700);
            *s = '/';
        }
    }
    free(p);
    return 0;
}

/* Whether the FUSE options let users other than the mounting one in (allow_other, allow_root). */
static int lets_others_in(const struct fuse_args *args)
{
    for (int i = 1; i < args->argc; i++) {
        const char *a = args->argv[i];
        if (strcmp(a, "-o") == 0 && i + 1 < args->argc)
            a = args->argv[++i];
        else if (strncmp(a, "-o", 2) == 0)
            a += 2;
        else
            continue;
        while (*a) {
            size_t len = strcspn(a, ",");
            if ((len == 11 && strncmp(a, "allow_other", 11) == 0) ||
                (len == 10 && strncmp(a, "allow_root", 10) == 0))
                return 1;
            a += len;
            if (*a == ',')
                a++;
        }
    }
    return 0;
}

int fs_status_main(int argc, char **argv); /* fs/status.c */

int main(int argc, char *argv[])
{
    /* Subcommands, before FUSE parses anything. */
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return fs_status_main(argc - 1, argv + 1);

    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts cmd = {0};
    struct fs fs_storage, *fs = &fs_storage;
    struct fuse *f = NULL;
    int ret = 1, mounted = 0, handlers = 0;
    struct fs_helper helper = {0};
    memset(fs, 0, sizeof *fs);
    pthread_mutex_init(&fs->lock, NULL);

    /* Started by mount(8) as /sbin/mount.ddbfs SOURCE DIR [-sfnv] [-N NS] [-o OPTS]. */
    if (fs_helper_is_helper(argv[0])) {
        char hmsg[600];
        if (fs_helper_parse(argc, argv, &helper, hmsg, sizeof hmsg) != 0 ||
            fs_helper_enter_ns(&helper, hmsg, sizeof hmsg) != 0) {
            fprintf(stderr, "ddbfs: %s\n", hmsg);
            goto out;
        }
        args = (struct fuse_args)FUSE_ARGS_INIT(helper.argc, helper.argv);
    }

    if (fs_opts_parse(&args, &fs->opts) != 0)
        goto out;
    if (fs->opts.show_help) {
        fs_opts_usage(argv[0]);
        printf("FUSE options:\n");
        fuse_cmdline_help();
        fuse_lib_help(&args);
        ret = 0;
        goto out;
    }
    if (fs->opts.show_version) {
        printf("ddbfs version %s\nFUSE library version %s\n%s\n", DDBFS_VERSION,
               fuse_pkgversion(), curl_version());
        ret = 0;
        goto out;
    }
    /* The most FUSE threads, unless the user's -o max_threads (later on the line) says. */
    fuse_opt_insert_arg(&args, 1, "-omax_threads=64");
    if (fuse_parse_cmdline(&args, &cmd) != 0)
        goto out;
    if (fs_opts_check(&fs->opts) != 0)
        goto out;
    if (!cmd.mountpoint) {
        fprintf(stderr, "ddbfs: missing MOUNTPOINT (see ddbfs --help)\n");
        goto out;
    }
    log_setup("ddbfs", cmd.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, 0);

    /* Before any thread starts. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_object_seed(0);

    struct ddb_error err;
    ddb_error_clear(&err);
    const char *region = fs->opts.region;
    if (!region && strcmp(fs->opts.source, "default") != 0)
        region = fs->opts.source;
    struct ddb_config_opts co = {
        .profile = fs->opts.profile, .region = region, .endpoint = fs->opts.endpoint};
    if (ddb_config_load(&co, &fs->cfg, &err) != 0) {
        fprintf(stderr, "ddbfs: %s\n", err.message);
        goto out;
    }
    fs->creds = ddb_creds_provider_new(&fs->cfg, &err);
    if (!fs->creds) {
        fprintf(stderr, "ddbfs: %s\n", err.message);
        goto out;
    }
    fs->cache_dir =
        fs->opts.cache_dir ? strdup(fs->opts.cache_dir) : default_cache_dir(cmd.mountpoint);
    if (!fs->cache_dir)
        goto out;
    mkdir_parents(fs->cache_dir);
    enum cache_err ce;
    char msg[1024] = "";
    struct cache_opts cao = {
        .dir = fs->cache_dir, .max_bytes = fs->opts.cache_size, .ttl_s = fs->opts.cache_ttl};
    fs->cache = cache_store_open(&cao, &ce, msg, sizeof msg);
    if (!fs->cache) {
        fprintf(stderr, "ddbfs: cache_dir=%s: %s\n", fs->cache_dir, msg);
        goto out;
    }
    if (check_service(fs) != 0)
        goto out;
    if (helper.fake) { /* mount -f: everything is checked; mount nothing */
        ret = 0;
        goto out;
    }

    fs->mounted = time(NULL);
    fs->uid = getuid();
    fs->gid = getgid();
    char fsname[300];
    snprintf(fsname, sizeof fsname, "-osubtype=ddbfs,fsname=ddbfs:%s", fs->opts.source);
    fuse_opt_add_arg(&args, fsname);
    /* Other users see the modes ddbfs reports enforced by the kernel (they cannot write into a
     * table directory, that is restore, unless the modes let them). */
    if (lets_others_in(&args))
        fuse_opt_add_arg(&args, "-odefault_permissions");

    f = fuse_new(&args, &fs_ops, sizeof fs_ops, fs);
    if (!f) {
        fprintf(stderr, "ddbfs: FUSE refused the options above: nothing was mounted (ddbfs --help "
                        "lists the options)\n");
        goto out;
    }
    if (fuse_mount(f, cmd.mountpoint) != 0)
        goto out;
    mounted = 1;
    if (helper.verbose)
        fprintf(stderr, "ddbfs: mounted %s on %s (endpoint %s, region %s)\n", fs->opts.source,
                cmd.mountpoint, fs->cfg.endpoint, fs->cfg.region);
    if (fuse_daemonize(cmd.foreground) != 0)
        goto out;
    if (!cmd.foreground)
        log_setup("ddbfs", cmd.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, 1);
    struct fuse_session *se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0)
        goto out;
    handlers = 1;
    log_info("mounted %s on %s (endpoint %s, region %s, credentials from %s)", fs->opts.source,
             cmd.mountpoint, fs->cfg.endpoint, fs->cfg.region, ddb_creds_source(fs->creds));
    int lrc;
    if (cmd.singlethread) {
        lrc = fuse_loop(f);
    } else {
        struct fuse_loop_config *lc = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(lc, cmd.clone_fd);
        fuse_loop_cfg_set_max_threads(lc, cmd.max_threads);
        if (cmd.max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
            fuse_loop_cfg_set_idle_threads(lc, cmd.max_idle_threads);
        lrc = fuse_loop_mt(f, lc);
        fuse_loop_cfg_destroy(lc);
    }
    /* Stopped by a signal (libfuse returns its number): a normal end, as an unmount is. */
    ret = lrc == 0 || lrc == SIGTERM || lrc == SIGINT || lrc == SIGHUP ? 0 : 1;
out:
    if (handlers)
        fuse_remove_signal_handlers(fuse_get_session(f));
    if (mounted)
        fuse_unmount(f);
    if (f)
        fuse_destroy(f); /* runs destroy: stops the I/O thread */
    if (fs->cut_off) /* files still being written at unmount: the log names them */
        ret = 1;
    fs_tables_free(fs);
    cache_store_close(fs->cache);
    ddb_creds_provider_free(fs->creds);
    ddb_config_cleanup(&fs->cfg);
    free(fs->cache_dir);
    free(cmd.mountpoint);
    fs_opts_cleanup(&fs->opts);
    fuse_opt_free_args(&args);
    curl_global_cleanup();
    pthread_mutex_destroy(&fs->lock);
    fs_helper_cleanup(&helper);
    return ret;
}
