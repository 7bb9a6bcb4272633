/* Progress arithmetic: rates over a window, time left, human units. Pure: see fs/rate.h. */
#include "fs/rate.h"

#include <math.h>
#include <stdio.h>

void fs_rate_init(struct fs_rate *r)
{
    r->n = 0;
    r->head = 0;
}

void fs_rate_add(struct fs_rate *r, double now, double items, double bytes)
{
    if (r->n > 1) {
        /* Samples stay at least FS_RATE_MIN_GAP_S apart: while the newest is that close to the
         * one before it, it moves with the counts instead of a new one being added. */
        int last = (r->head + FS_RATE_SAMPLES - 1) % FS_RATE_SAMPLES;
        int prev = (r->head + FS_RATE_SAMPLES - 2) % FS_RATE_SAMPLES;
        if (now - r->t[prev] < FS_RATE_MIN_GAP_S) {
            r->t[last] = now;
            r->items[last] = items;
            r->bytes[last] = bytes;
            return;
        }
    }
    r->t[r->head] = now;
    r->items[r->head] = items;
    r->bytes[r->head] = bytes;
    r->head = (r->head + 1) % FS_RATE_SAMPLES;
    if (r->n < FS_RATE_SAMPLES)
        r->n++;
}

void fs_rate_get(const struct fs_rate *r, double now, double *items_s, double *bytes_s)
{
    *items_s = *bytes_s = 0;
    if (r->n == 0)
        return;
    int last = (r->head + FS_RATE_SAMPLES - 1) % FS_RATE_SAMPLES;
    /* The oldest sample inside the window, and the one just before it (the window's start). */
    int base = -1;
    for (int k = 0; k < r->n; k++) {
        int i = (r->head + FS_RATE_SAMPLES - 1 - k) % FS_RATE_SAMPLES;
        base = i;
        if (now - r->t[i] > FS_RATE_WINDOW_S)
            break;
    }
    if (base < 0 || base == last)
        return;
    double dt = now - r->t[base];
    if (dt <= 0)
        return;
    *items_s = (r->items[last] - r->items[base]) / dt;
    *bytes_s = (r->bytes[last] - r->bytes[base]) / dt;
    if (*items_s < 0)
        *items_s = 0;
    if (*bytes_s < 0)
        *bytes_s = 0;
}

double fs_eta_seconds(double expected, double done, double items_s, double avg_item_bytes,
                      double budget_rcu, double rcu_bytes)
{
    if (!(expected > 0))
        return -1;
    double left = expected - done;
    if (left <= 0)
        return -1;
    if (items_s > 0)
        return left / items_s;
    if (avg_item_bytes > 0 && budget_rcu > 0 && rcu_bytes > 0)
        return left * avg_item_bytes / (budget_rcu * rcu_bytes);
    return -1;
}

const char *fs_eta_format(double s, char *out, size_t len)
{
    if (!(s >= 0) || isinf(s)) {
        snprintf(out, len, "unknown");
        return out;
    }
    long v = (long)ceil(s);
    if (v < 60)
        snprintf(out, len, "%lds", v);
    else if (v < 3600)
        snprintf(out, len, "%ldm%02lds", v / 60, v % 60);
    else
        snprintf(out, len, "%ldh%02ldm", v / 3600, (v % 3600) / 60);
    return out;
}

const char *fs_bytes_format(double b, char *out, size_t len)
{
    static const char *unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (b < 1024) {
        snprintf(out, len, "%.0f B", b < 0 ? 0 : b);
        return out;
    }
    int u = -1;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, len, "%.1f %s", b, unit[u]);
    return out;
}
