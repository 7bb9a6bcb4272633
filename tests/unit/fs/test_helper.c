/* mount(8)'s helper command line (fs/helper.c) and the options only mount(8) reads (fs/opts.c). */
#include <criterion/criterion.h>

#include "../../../fs/helper.c"
#include "../../../fs/opts.c"

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(h, msg, ...) fs_helper_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), h, msg, sizeof msg)

Test(helper, only_names_beginning_with_mount_dot_are_helpers)
{
    cr_expect(fs_helper_is_helper("/sbin/mount.ddbfs"));
    cr_expect(fs_helper_is_helper("mount.fuse.ddbfs"));
    cr_expect(!fs_helper_is_helper("/usr/local/bin/ddbfs"));
    cr_expect(!fs_helper_is_helper("/tmp/mount.d/ddbfs"));
}

Test(helper, mount_command_line_becomes_ddbfs_command_line)
{
    struct fs_helper h;
    char msg[512];
    cr_assert_eq(PARSE(&h, msg, "/sbin/mount.ddbfs", "us-east-1", "/mnt/ddb", "-o",
                       "rw,nofail,region=x", "-t", "ddbfs"),
                 0, "%s", msg);
    cr_assert_eq(h.argc, 5);
    cr_expect_str_eq(h.argv[0], "/sbin/mount.ddbfs");
    cr_expect_str_eq(h.argv[1], "-o");
    cr_expect_str_eq(h.argv[2], "rw,nofail,region=x");
    cr_expect_str_eq(h.argv[3], "us-east-1");
    cr_expect_str_eq(h.argv[4], "/mnt/ddb");
    cr_expect_null(h.argv[5]);
    cr_expect(!h.fake && !h.verbose);
    fs_helper_cleanup(&h);
}

Test(helper, dash_f_is_fake_not_foreground_and_flags_cluster)
{
    struct fs_helper h;
    char msg[512];
    cr_assert_eq(PARSE(&h, msg, "mount.ddbfs", "default", "/m", "-fnsv", "-N", "1234", "-oro", "-o",
                       "tables=a"),
                 0, "%s", msg);
    cr_expect(h.fake && h.no_mtab && h.sloppy && h.verbose);
    cr_expect_str_eq(h.ns, "1234");
    cr_expect_str_eq(h.argv[2], "ro,tables=a", "every -o is kept, in order");
    for (int i = 0; i < h.argc; i++)
        cr_expect_str_neq(h.argv[i], "-f", "mount's -f must never reach FUSE as foreground");
    fs_helper_cleanup(&h);
}

Test(helper, mistakes_are_refused_with_the_usage)
{
    struct fs_helper h;
    char msg[512];
    cr_expect_eq(PARSE(&h, msg, "mount.ddbfs", "us-east-1"), -1);
    cr_expect(strstr(msg, "missing DIR") && strstr(msg, "usage: mount.ddbfs"), "%s", msg);
    fs_helper_cleanup(&h);
    cr_expect_eq(PARSE(&h, msg, "mount.ddbfs", "a", "b", "c"), -1);
    cr_expect(strstr(msg, "too many arguments"), "%s", msg);
    fs_helper_cleanup(&h);
    cr_expect_eq(PARSE(&h, msg, "mount.ddbfs", "a", "/m", "-x"), -1);
    cr_expect(strstr(msg, "unknown flag: -x"), "%s", msg);
    fs_helper_cleanup(&h);
    cr_expect_eq(PARSE(&h, msg, "mount.ddbfs", "a", "/m", "-o"), -1);
    cr_expect(strstr(msg, "missing value after: -o"), "%s", msg);
    fs_helper_cleanup(&h);
    cr_expect_eq(PARSE(&h, msg, "mount.ddbfs", "a", "/m", "-t", "nfs"), -1);
    cr_expect(strstr(msg, "nfs"), "%s", msg);
    fs_helper_cleanup(&h);
}

Test(helper, a_missing_namespace_is_named)
{
    struct fs_helper h;
    char msg[512];
    cr_assert_eq(PARSE(&h, msg, "mount.ddbfs", "a", "/m", "-N", "/nonexistent/ns"), 0);
    cr_expect_eq(fs_helper_enter_ns(&h, msg, sizeof msg), -1);
    cr_expect(strstr(msg, "/nonexistent/ns"), "%s", msg);
    fs_helper_cleanup(&h);
}

Test(opts, options_only_mount_and_systemd_read_are_dropped)
{
    const char *dropped[] = {"defaults",
                             "auto",
                             "noauto",
                             "user",
                             "user=alice",
                             "nouser",
                             "users",
                             "owner",
                             "group",
                             "_netdev",
                             "nofail",
                             "comment=systemd",
                             "x-systemd.automount",
                             "x-systemd.idle-timeout=60",
                             "X-mount.mkdir"};
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        cr_expect(fs_opts_mount_only(dropped[i]), "%s should be dropped", dropped[i]);
    const char *kept[] = {"ro", "rw", "allow_other", "nosuid", "users_x", "region=x", "userx"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        cr_expect(!fs_opts_mount_only(kept[i]), "%s should be kept", kept[i]);
}

Test(opts, parse_removes_mount_only_options_and_keeps_fuse_ones)
{
    struct fuse_args args = FUSE_ARGS_INIT(
        5, ARGV("ddbfs", "-o", "_netdev,ro,x-systemd.automount,nofail,region=eu-west-1",
                "us-east-1", "/mnt"));
    struct fs_opts o;
    cr_assert_eq(fs_opts_parse(&args, &o), 0);
    cr_expect_str_eq(o.region, "eu-west-1");
    cr_expect_str_eq(o.source, "us-east-1");
    int ro = 0;
    for (int i = 0; i < args.argc; i++) {
        cr_expect(!strstr(args.argv[i], "_netdev") && !strstr(args.argv[i], "nofail") &&
                      !strstr(args.argv[i], "x-systemd"),
                  "passed on to FUSE: %s", args.argv[i]);
        ro |= strstr(args.argv[i], "ro") != NULL;
    }
    cr_expect(ro, "ro is FUSE's and is kept");
    fs_opts_cleanup(&o);
    fuse_opt_free_args(&args);
}
