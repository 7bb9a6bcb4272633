/* mount(8)'s calling convention for filesystem helpers.
 *
 * mount -t ddbfs SOURCE DIR -o OPTS runs /sbin/mount.ddbfs (a link to ddbfs) as
 *
 *     mount.ddbfs SOURCE DIR [-sfnv] [-N NS] [-o OPTS] [-t TYPE]
 *
 * where -f means "fake" (check everything, mount nothing), not FUSE's "foreground". When ddbfs is
 * started under a name beginning with "mount.", fs_helper_parse turns that command line into
 * ddbfs's own (`PROG -o OPTS SOURCE DIR`) and keeps the flags for main. */
#ifndef FS_HELPER_H
#define FS_HELPER_H

#include <stddef.h>

struct fs_helper {
    int active;  /* started as mount.TYPE: the fields below apply */
    int fake;    /* -f: check options, credentials and endpoint, then exit 0 without mounting */
    int verbose; /* -v: say what is mounted on stderr */
    int sloppy;  /* -s: accepted; ddbfs still refuses options it does not know */
    int no_mtab; /* -n: accepted; there is no /etc/mtab to write */
    char *ns;    /* -N: a mount namespace (a path, or a pid for /proc/PID/ns/mnt); owned */
    char *type;  /* -t: owned */
    int argc;
    char **argv; /* ddbfs's own command line, NULL-terminated; owned (strings too) */
};

/* 1 when prog (argv[0]) names a mount helper ("mount.ddbfs", "/sbin/mount.fuse.ddbfs"). */
int fs_helper_is_helper(const char *prog);

/* Parses a helper command line into h (zeroed first). Returns 0, or -1 with a message in msg
 * (a usage mistake: the caller prints it and exits 1). On success h->argv is ddbfs's command
 * line; the caller frees h with fs_helper_cleanup whatever the result. */
int fs_helper_parse(int argc, char **argv, struct fs_helper *h, char *msg, size_t len);

/* Enters the mount namespace h->ns names (a no-op without -N). Returns 0, or -1 with a message. */
int fs_helper_enter_ns(const struct fs_helper *h, char *msg, size_t len);

void fs_helper_cleanup(struct fs_helper *h);

#endif
