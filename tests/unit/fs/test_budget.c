/* The read budget and segments=auto, as fs/SEMANTICS.md states them. */
#include <criterion/criterion.h>

#include "../../../fs/budget.c"

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

static struct ddb_table_info provisioned(double rcu)
{
    return (struct ddb_table_info){.on_demand = 0, .read_capacity = rcu};
}

Test(budget, provisioned_tables_get_their_capacity_times_read_percent)
{
    struct fs_opts o = {.read_percent = 0.5};
    struct ddb_table_info t = provisioned(1000);
    cr_expect_float_eq(fs_read_budget(&o, &t), 500, 1e-9);
}

Test(budget, read_capacity_overrides_the_share)
{
    struct fs_opts o = {.read_percent = 0.5, .read_capacity = 42};
    struct ddb_table_info t = provisioned(1000);
    cr_expect_float_eq(fs_read_budget(&o, &t), 42, 1e-9);
}

Test(budget, on_demand_tables_use_their_maximum_else_forty_thousand)
{
    struct fs_opts o = {.read_percent = 0.5};
    struct ddb_table_info t = {.on_demand = 1};
    cr_expect_float_eq(fs_read_budget(&o, &t), 20000, 1e-9, "no maximum: 40,000 x 0.5");
    t.max_read_requests = 3000;
    cr_expect_float_eq(fs_read_budget(&o, &t), 1500, 1e-9);
}

Test(budget, on_demand_tables_never_get_a_zero_budget)
{
    /* EMR failed here: "Read throughput should not be less than 1". */
    struct fs_opts o = {.read_percent = 0.1};
    struct ddb_table_info t = {.on_demand = 1, .read_capacity = 0};
    cr_expect_gt(fs_read_budget(&o, &t), 1);
}

Test(segments, a_table_reported_empty_gets_one_segment)
{
    cr_expect_eq(fs_auto_segments(0, 20000), 1);
}

Test(segments, small_tables_are_not_split_into_nearly_empty_files)
{
    cr_expect_eq(fs_auto_segments(100 * MiB, 20000), 1, "100 MiB: one segment of >= 64 MiB");
    cr_expect_eq(fs_auto_segments(640 * MiB, 20000), 10);
}

Test(segments, there_is_at_least_one_segment_per_gib)
{
    cr_expect_eq(fs_auto_segments(100 * GiB, 10), 100);
}

Test(segments, enough_segments_to_use_the_budget)
{
    cr_expect_eq(fs_auto_segments(50 * GiB, 20000), 50, "by size");
    cr_expect_eq(fs_auto_segments(10 * GiB, 20000), 20, "by budget: 20,000 / 1,000");
}

Test(segments, never_more_than_dynamodb_allows)
{
    cr_expect_eq(fs_auto_segments(1e18, 1e9), DDB_SEGMENTS_MAX);
}

Test(budget, a_shard_gets_its_share_of_every_budget)
{
    struct fs_opts o = {.read_percent = 0.5, .write_percent = 0.5, .shard_k = 1, .shard_m = 4};
    struct ddb_table_info t = {.on_demand = 0, .read_capacity = 1000, .write_capacity = 800};
    cr_expect_float_eq(fs_read_budget(&o, &t), 125, 1e-9);
    cr_expect_float_eq(fs_write_budget(&o, &t), 100, 1e-9);
    o.read_capacity = 300;
    o.write_capacity = 60;
    cr_expect_float_eq(fs_read_budget(&o, &t), 75, 1e-9);
    cr_expect_float_eq(fs_write_budget(&o, &t), 15, 1e-9);
    o.shard_m = 1;
    o.shard_k = 0;
    cr_expect_float_eq(fs_read_budget(&o, &t), 300, 1e-9);
}
