/* Timers: a binary min-heap on (due, seq). See timers.h. */
#include "ddb/timers.h"

#include <stdlib.h>
#include <string.h>

static int before(const struct ddb_timer *a, const struct ddb_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(struct ddb_timer *a, struct ddb_timer *b)
{
    struct ddb_timer tmp = *a;
    *a = *b;
    *b = tmp;
}

void ddb_timers_init(struct ddb_timers *t)
{
    memset(t, 0, sizeof *t);
}

void ddb_timers_cleanup(struct ddb_timers *t)
{
    free(t->heap);
    ddb_timers_init(t);
}

int ddb_timers_push(struct ddb_timers *t, double due, ddb_timer_fn *fn, void *ud)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : DDB_TIMERS_INITIAL;
        struct ddb_timer *p = realloc(t->heap, cap * sizeof *p);
        if (!p)
            return -1;
        t->heap = p;
        t->cap = cap;
    }
    size_t i = t->n++;
    t->heap[i] = (struct ddb_timer){.due = due, .seq = t->next_seq++, .fn = fn, .ud = ud};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&t->heap[i], &t->heap[parent]))
            break;
        swap(&t->heap[i], &t->heap[parent]);
        i = parent;
    }
    return 0;
}

int ddb_timers_pop(struct ddb_timers *t, struct ddb_timer *out)
{
    if (!t->n)
        return -1;
    *out = t->heap[0];
    t->heap[0] = t->heap[--t->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && before(&t->heap[l], &t->heap[m]))
            m = l;
        if (r < t->n && before(&t->heap[r], &t->heap[m]))
            m = r;
        if (m == i)
            break;
        swap(&t->heap[i], &t->heap[m]);
        i = m;
    }
    return 0;
}

int ddb_timers_peek_due(const struct ddb_timers *t, double *due)
{
    if (!t->n)
        return -1;
    *due = t->heap[0].due;
    return 0;
}

size_t ddb_timers_count(const struct ddb_timers *t)
{
    return t->n;
}
