#include <criterion/criterion.h>
#include <stdint.h>

#include "ddb/timers.h"

/* Callbacks are never run by the heap: tests only compare them and their ud. */
static void noop(void *ud)
{
    (void)ud;
}

/* A deterministic generator, so a failure can be replayed. */
static uint64_t rng = 0x853c49e6748fea9bu;

static unsigned next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545f4914f6cdd1du) >> 33);
}

Test(timers, pops_come_out_in_due_order)
{
    struct ddb_timers t;
    ddb_timers_init(&t);
    double dues[] = {50, 10, 40, 30, 20, 0, 60, 5};
    size_t n = sizeof dues / sizeof dues[0];
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ddb_timers_push(&t, dues[i], noop, &dues[i]), 0);
    cr_assert_eq(ddb_timers_count(&t), n);
    double last = -1;
    for (size_t i = 0; i < n; i++) {
        struct ddb_timer e;
        double peek;
        cr_assert_eq(ddb_timers_peek_due(&t, &peek), 0);
        cr_assert_eq(ddb_timers_pop(&t, &e), 0);
        cr_assert_eq(e.due, peek, "peek and pop agree");
        cr_assert_geq(e.due, last, "%g came after %g", e.due, last);
        cr_assert_eq(e.fn, noop);
        cr_assert_eq(*(double *)e.ud, e.due, "the ud pushed with a deadline comes back with it");
        last = e.due;
    }
    cr_assert_eq(ddb_timers_count(&t), 0);
    ddb_timers_cleanup(&t);
}

Test(timers, equal_deadlines_pop_first_in_first_out)
{
    struct ddb_timers t;
    ddb_timers_init(&t);
    int ids[200];
    /* Interleave two deadlines so that the heap's shape is not the push order. */
    for (int i = 0; i < 200; i++) {
        ids[i] = i;
        cr_assert_eq(ddb_timers_push(&t, i % 2 ? 7.0 : 3.0, noop, &ids[i]), 0);
    }
    /* All of the earlier deadline first, then the later; each in the order it was pushed. */
    double dues[] = {3.0, 7.0};
    for (size_t d = 0; d < 2; d++) {
        int prev = -1;
        for (int i = 0; i < 100; i++) {
            struct ddb_timer e;
            cr_assert_eq(ddb_timers_pop(&t, &e), 0);
            cr_assert_eq(e.due, dues[d]);
            int id = *(int *)e.ud;
            cr_assert_gt(id, prev, "%d popped after %d", id, prev);
            prev = id;
        }
    }
    ddb_timers_cleanup(&t);
}

Test(timers, grows_past_its_initial_capacity_and_keeps_order)
{
    struct ddb_timers t;
    ddb_timers_init(&t);
    size_t n = DDB_TIMERS_INITIAL * 8 + 3;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ddb_timers_push(&t, (double)(next_rand() % 1000), noop, NULL), 0);
    cr_assert_eq(ddb_timers_count(&t), n);
    struct ddb_timer prev;
    cr_assert_eq(ddb_timers_pop(&t, &prev), 0);
    for (size_t i = 1; i < n; i++) {
        struct ddb_timer e;
        cr_assert_eq(ddb_timers_pop(&t, &e), 0);
        cr_assert(e.due > prev.due || (e.due == prev.due && e.seq > prev.seq),
                  "(%g, %lu) popped after (%g, %lu)", e.due, e.seq, prev.due, prev.seq);
        prev = e;
    }
    cr_assert_eq(ddb_timers_count(&t), 0);
    ddb_timers_cleanup(&t);
}

Test(timers, pushes_and_pops_can_interleave)
{
    struct ddb_timers t;
    ddb_timers_init(&t);
    struct ddb_timer e;
    cr_assert_eq(ddb_timers_push(&t, 30, noop, NULL), 0);
    cr_assert_eq(ddb_timers_push(&t, 10, noop, NULL), 0);
    cr_assert_eq(ddb_timers_pop(&t, &e), 0);
    cr_assert_eq(e.due, 10);
    cr_assert_eq(ddb_timers_push(&t, 20, noop, NULL), 0);
    cr_assert_eq(ddb_timers_push(&t, 30, noop, NULL), 0);
    double want[] = {20, 30, 30};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ddb_timers_pop(&t, &e), 0);
        cr_assert_eq(e.due, want[i]);
    }
    ddb_timers_cleanup(&t);
}

Test(timers, an_empty_heap_pops_and_peeks_nothing)
{
    struct ddb_timers t;
    ddb_timers_init(&t);
    struct ddb_timer e = {.due = 42, .seq = 7};
    double due = 42;
    cr_assert_eq(ddb_timers_count(&t), 0);
    cr_assert_eq(ddb_timers_pop(&t, &e), -1);
    cr_assert_eq(ddb_timers_peek_due(&t, &due), -1);
    cr_assert_eq(e.due, 42, "out is untouched");
    cr_assert_eq(e.seq, 7);
    cr_assert_eq(due, 42);

    /* And again once it has been filled and emptied. */
    cr_assert_eq(ddb_timers_push(&t, 1, noop, NULL), 0);
    cr_assert_eq(ddb_timers_pop(&t, &e), 0);
    cr_assert_eq(ddb_timers_pop(&t, &e), -1);
    cr_assert_eq(ddb_timers_peek_due(&t, &due), -1);
    cr_assert_eq(ddb_timers_count(&t), 0);
    ddb_timers_cleanup(&t);
    ddb_timers_cleanup(&t); /* a cleaned-up heap is an empty one */
}
