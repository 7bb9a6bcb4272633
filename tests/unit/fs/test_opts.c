/* shard=K/M: parsing, the checks that need segments=N, and which segments a host owns. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "../../../fs/opts.c"

Test(opts, parses_a_shard)
{
    unsigned k = 9, m = 9;
    cr_assert_eq(fs_opts_parse_shard("0/1", &k, &m), 0);
    cr_assert_eq(k, 0);
    cr_assert_eq(m, 1);
    cr_assert_eq(fs_opts_parse_shard("2/3", &k, &m), 0);
    cr_assert_eq(k, 2);
    cr_assert_eq(m, 3);
    const char *bad[] = {"",    "3",    "3/3",  "4/3",  "0/0",       "-1/3",  "1/-3",
                         "a/3", "1/3x", "1/ 3", " 1/3", "1/1000001", "1/3/4", "1.0/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(fs_opts_parse_shard(bad[i], &k, &m), -1, "\"%s\" was taken", bad[i]);
}

Test(opts, a_host_owns_every_mth_segment_from_k)
{
    struct fs_opts o = {.shard_k = 1, .shard_m = 3};
    int owned[7];
    for (unsigned i = 0; i < 7; i++)
        owned[i] = fs_opts_shard_owns(&o, i);
    int want[7] = {0, 1, 0, 0, 1, 0, 0};
    cr_assert_arr_eq(owned, want, sizeof want);
    struct fs_opts none = {0};
    cr_assert(fs_opts_shard_owns(&none, 5));
}

static int check(const char *shard, const char *segments)
{
    struct fs_opts o = {.source = "us-east-1", .nonopts = 2};
    o.shard_s = (char *)shard;
    o.segments_s = (char *)segments;
    return fs_opts_check(&o);
}

Test(opts, a_shard_needs_segments_at_least_m, .init = cr_redirect_stderr)
{
    cr_assert_eq(check("1/3", "6"), 0);
    cr_assert_eq(check("0/1", NULL), 0);
    cr_assert_eq(check("1/3", NULL), -1);
    cr_assert_eq(check("1/3", "auto"), -1);
    cr_assert_eq(check("1/3", "2"), -1);
    cr_assert_eq(check("3/3", "6"), -1);
    fflush(stderr);
    cr_assert_stderr_eq_str(
        "ddbfs: option shard=1/3 needs segments=N (the same N on all 3 hosts, at least 3), so "
        "that every host splits each table the same way\n"
        "ddbfs: option shard=1/3 needs segments=N (the same N on all 3 hosts, at least 3), so "
        "that every host splits each table the same way\n"
        "ddbfs: option shard=1/3 needs segments=N with N at least 3 (segments=2 would leave a "
        "host without a segment)\n"
        "ddbfs: bad value for option shard=3/3: expected K/M, this host's shard K (0 to M-1, as "
        "JOB_COMPLETION_INDEX) of M hosts, such as shard=0/3\n");
}
