/* Rates over a window, time left and the units the progress xattrs, log and status show. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../fs/rate.c"

Test(rate, is_the_slope_of_the_counts_over_the_last_seconds)
{
    struct fs_rate r;
    fs_rate_init(&r);
    for (int s = 0; s <= 20; s++)
        fs_rate_add(&r, 100.0 + s, 10.0 * s, 1000.0 * s);
    double is, bs;
    fs_rate_get(&r, 120.0, &is, &bs);
    cr_expect_float_eq(is, 10.0, 1e-6);
    cr_expect_float_eq(bs, 1000.0, 1e-6);
}

Test(rate, forgets_what_came_before_the_window)
{
    struct fs_rate r;
    fs_rate_init(&r);
    fs_rate_add(&r, 0.0, 0, 0);
    fs_rate_add(&r, 1.0, 100000, 0); /* a burst long ago */
    for (int s = 2; s <= 30; s++)
        fs_rate_add(&r, (double)s, 100000 + 5.0 * (s - 1), 0);
    double is, bs;
    fs_rate_get(&r, 30.0, &is, &bs);
    cr_expect(is > 4.0 && is < 6.5, "rate %f, want about 5/s", is);
}

Test(rate, is_zero_when_nothing_moved_in_the_window)
{
    struct fs_rate r;
    fs_rate_init(&r);
    fs_rate_add(&r, 0.0, 0, 0);
    fs_rate_add(&r, 1.0, 50, 500);
    double is, bs;
    fs_rate_get(&r, 60.0, &is, &bs);
    cr_expect_float_eq(is, 0.0, 1e-9);
    cr_expect_float_eq(bs, 0.0, 1e-9);
}

Test(rate, has_no_value_from_one_sample)
{
    struct fs_rate r;
    fs_rate_init(&r);
    fs_rate_add(&r, 5.0, 1000, 1000);
    double is, bs;
    fs_rate_get(&r, 5.5, &is, &bs);
    cr_expect_float_eq(is, 0.0, 1e-9);
}

Test(rate, close_samples_do_not_push_the_window_out)
{
    struct fs_rate r;
    fs_rate_init(&r);
    /* 1000 pages a second for 4 s: the ring keeps samples FS_RATE_MIN_GAP_S apart. */
    for (int k = 0; k <= 4000; k++)
        fs_rate_add(&r, k / 1000.0, (double)k, 0);
    double is, bs;
    fs_rate_get(&r, 4.0, &is, &bs);
    cr_expect(is > 900 && is < 1100, "rate %f, want about 1000/s", is);
}

Test(eta, is_unknown_without_an_item_count)
{
    cr_expect_float_eq(fs_eta_seconds(0, 100, 50, 200, 100, 8192), -1, 1e-9);
}

Test(eta, is_what_is_left_over_the_rate)
{
    cr_expect_float_eq(fs_eta_seconds(1000, 400, 20, 200, 100, 8192), 30.0, 1e-9);
}

Test(eta, uses_the_budget_before_there_is_a_rate)
{
    /* 800 items of 1024 bytes at 10 RCU/s of 8 KiB: 800 KiB / 80 KiB/s = 10 s */
    cr_expect_float_eq(fs_eta_seconds(1000, 200, 0, 1024, 10, 8192), 10.0, 1e-9);
}

Test(eta, is_unknown_when_more_items_came_than_the_estimate)
{
    cr_expect_float_eq(fs_eta_seconds(1000, 1200, 50, 100, 10, 8192), -1, 1e-9);
}

Test(eta, formats_as_seconds_minutes_hours_or_unknown)
{
    char b[32];
    cr_expect_str_eq(fs_eta_format(-1, b, sizeof b), "unknown");
    cr_expect_str_eq(fs_eta_format(0, b, sizeof b), "0s");
    cr_expect_str_eq(fs_eta_format(41.2, b, sizeof b), "42s");
    cr_expect_str_eq(fs_eta_format(187, b, sizeof b), "3m07s");
    cr_expect_str_eq(fs_eta_format(7500, b, sizeof b), "2h05m");
}

Test(bytes, formats_in_binary_units)
{
    char b[32];
    cr_expect_str_eq(fs_bytes_format(512, b, sizeof b), "512 B");
    cr_expect_str_eq(fs_bytes_format(1536, b, sizeof b), "1.5 KiB");
    cr_expect_str_eq(fs_bytes_format(3.25 * 1024 * 1024, b, sizeof b), "3.2 MiB");
}
