/* Budgets and segmentation: pure functions of the options and a table's description. */
#include <math.h>

#include "base/limits.h"
#include "fs/fs.h"

/* With shard=K/M, a host has 1/M of the table's budget: M hosts together use all of it. */
static double share(const struct fs_opts *o, double budget)
{
    return o->shard_m > 1 ? budget / o->shard_m : budget;
}

double fs_read_budget(const struct fs_opts *o, const struct ddb_table_info *info)
{
    if (o->read_capacity > 0)
        return share(o, o->read_capacity);
    if (!info->on_demand && info->read_capacity > 0)
        return share(o, info->read_capacity * o->read_percent);
    double max = info->max_read_requests > 0 ? info->max_read_requests : FS_ON_DEMAND_READ_DEFAULT;
    return share(o, max * o->read_percent);
}

unsigned fs_auto_segments(double size_bytes, double budget)
{
    double by_size = ceil(size_bytes / (double)FS_SEGMENT_BYTES);
    double by_rate = ceil(budget / FS_RCU_PER_SCAN);
    double n = fmax(1, fmax(by_size, by_rate));
    double cap = fmax(1, floor(size_bytes / (double)FS_MIN_SEGMENT_BYTES));
    if (n > cap)
        n = cap;
    if (n > DDB_SEGMENTS_MAX)
        n = DDB_SEGMENTS_MAX;
    return (unsigned)n;
}


double fs_write_budget(const struct fs_opts *o, const struct ddb_table_info *info)
{
    if (o->write_capacity > 0)
        return share(o, o->write_capacity);
    if (!info->on_demand && info->write_capacity > 0)
        return share(o, info->write_capacity * o->write_percent);
    double max =
        info->max_write_requests > 0 ? info->max_write_requests : FS_ON_DEMAND_WRITE_DEFAULT;
    return share(o, max * o->write_percent);
}
