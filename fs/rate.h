/* Progress arithmetic, pure (no fs state, no clock of its own): a rate over the last few seconds
 * from cumulative counters, the estimated time left, and the text forms the xattrs, the log and
 * `ddbfs status` show. */
#ifndef FS_RATE_H
#define FS_RATE_H

#include <stddef.h>

#define FS_RATE_SAMPLES 32   /* samples kept (at most one per FS_RATE_MIN_GAP_S) */
#define FS_RATE_WINDOW_S 5.0 /* the rate is over about this many seconds */
#define FS_RATE_MIN_GAP_S 0.2

/* Cumulative (time, items, bytes) samples; the rate is the slope over the window. Embedded:
 * fs_rate_init (cannot fail), nothing to clean up. Not thread-safe (callers hold their lock). */
struct fs_rate {
    double t[FS_RATE_SAMPLES], items[FS_RATE_SAMPLES], bytes[FS_RATE_SAMPLES];
    int n, head; /* head: the next slot to write */
};

void fs_rate_init(struct fs_rate *r);
/* Records the cumulative counts at monotonic time now (a sample closer than FS_RATE_MIN_GAP_S to
 * the previous one replaces it). */
void fs_rate_add(struct fs_rate *r, double now, double items, double bytes);
/* Items/s and bytes/s over the last FS_RATE_WINDOW_S seconds before now: 0 when nothing moved
 * in the window (a stalled or finished transfer has no rate). */
void fs_rate_get(const struct fs_rate *r, double now, double *items_s, double *bytes_s);

/* Seconds left, or -1 when there is no basis ("unknown"):
 *   expected <= 0 (no item count, as dynalite and new tables report): unknown;
 *   items done >= expected but not finished: unknown (the count was an estimate);
 *   a rate: remaining / rate;
 *   no rate yet but a budget: remaining items × avg_item_bytes / (budget_rcu × bytes per RCU);
 *   else unknown.
 * rcu_bytes: 4096 for strongly consistent reads, 8192 for eventually consistent ones. */
double fs_eta_seconds(double expected, double done, double items_s, double avg_item_bytes,
                      double budget_rcu, double rcu_bytes);
/* "unknown", "0s", "42s", "3m07s", "2h05m". Returns out. */
const char *fs_eta_format(double seconds, char *out, size_t len);
/* "512 B", "1.5 KiB", "3.2 MiB", "1.0 GiB". Returns out. */
const char *fs_bytes_format(double bytes, char *out, size_t len);

#endif
