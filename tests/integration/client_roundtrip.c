/* The DynamoDB client against dynalite: 10,000 items of every attribute type go in through
 * BatchWriteItem and come back through Scan with 1 and 8 segments, exactly and once each. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/batch.h"
#include "ddb/scan.h"
#include "ddb/table.h"
#include "ddb/throttle.h"
#include "testbed.h"

#define N_ITEMS 10000

static struct testbed tb;
static char *table;
static json_t *expected; /* key string -> normalized item */
static struct ddb_key_schema key = {"pk", 'S', "sk", 'N'};

static char *key_of(const json_t *item)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    cr_assert_eq(ddb_item_key_append(item, &key, &b), 0, "item has no key");
    return buf_detach(&b, NULL);
}

static void reject(long tag, const struct ddb_error *err, void *ud)
{
    (void)ud;
    cr_log_error("item %ld rejected: %s", tag, err->message);
}

static void setup(void)
{
    testbed_init(&tb);
    table = testbed_table_name("roundtrip");
    testbed_create_table(&tb, table, "pk", "S", "sk", "N");
    expected = json_object();
    struct ddb_error err;
    ddb_error_clear(&err);
    struct ddb_writer_opts wo = {.table = table, .key = &key};
    struct ddb_writer *w = ddb_writer_new(tb.client, &wo, reject, NULL, &err);
    cr_assert_not_null(w, "%s", err.message);
    for (long i = 0; i < N_ITEMS; i++) {
        json_t *item = testbed_item(i);
        char *k = key_of(item);
        json_object_set_new(expected, k, testbed_normalize(item));
        free(k);
        cr_assert_eq(ddb_writer_put(w, item, i, &err), 0, "put %ld: %s", i, err.message);
    }
    cr_assert_eq(ddb_writer_flush(w, &err), 0, "flush: %s", err.message);
    struct ddb_writer_stats ws;
    ddb_writer_get_stats(w, &ws);
    cr_assert_eq(ws.items_stored, N_ITEMS);
    cr_assert_eq(ws.items_rejected, 0);
    cr_assert_geq(ws.requests, N_ITEMS / DDB_BATCH_ITEMS_MAX);
    cr_assert_gt(ws.consumed, N_ITEMS, "BatchWriteItem reports consumed capacity");
    ddb_writer_free(w);
}

static void teardown(void)
{
    json_decref(expected);
    free(table);
    testbed_cleanup(&tb);
}

struct seen {
    pthread_mutex_t lock;
    json_t *items; /* key string -> item */
    long duplicates;
    long mismatches;
};

static int on_page(const struct ddb_scan_page *page, void *ud)
{
    struct seen *s = ud;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < page->n_items; i++) {
        json_t *item = ddb_scan_page_item(page, i);
        cr_assert_not_null(item, "item %zu of a page is not JSON", i);
        char *k = key_of(item);
        if (json_object_get(s->items, k))
            s->duplicates++;
        json_t *norm = testbed_normalize(item);
        if (!json_equal(norm, json_object_get(expected, k))) {
            if (s->mismatches++ < 3) {
                char *got = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
                char *want = json_dumps(json_object_get(expected, k), JSON_COMPACT | JSON_SORT_KEYS);
                cr_log_error("item %s differs:\n got  %.2000s\n want %.2000s", k, got,
                             want ? want : "(not written)");
                free(got);
                free(want);
            }
        }
        json_object_set_new(s->items, k, norm);
        free(k);
        json_decref(item);
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void scan_all(unsigned segments, struct ddb_throttle *th)
{
    struct seen s = {.items = json_object()};
    pthread_mutex_init(&s.lock, NULL);
    double consumed = 0;
    long pages = 0;
    for (unsigned seg = 0; seg < segments; seg++) {
        struct ddb_scan_opts o = {
            .table = table, .segment = seg, .total_segments = segments, .throttle = th};
        struct ddb_scan_stats st;
        struct ddb_error err;
        ddb_error_clear(&err);
        cr_assert_eq(ddb_scan_run(tb.client, &o, on_page, &s, &st, &err), 0, "segment %u: %s", seg,
                     err.message);
        consumed += st.consumed;
        pages += st.pages;
    }
    cr_expect_eq(s.duplicates, 0, "no item is read twice");
    cr_expect_eq(s.mismatches, 0, "every item is read exactly as written");
    cr_expect_eq(json_object_size(s.items), N_ITEMS, "every item is read (%zu of %d)",
                 json_object_size(s.items), N_ITEMS);
    cr_expect_gt(consumed, 0, "Scan reports consumed capacity");
    cr_expect_geq(pages, (long)segments);
    json_decref(s.items);
    pthread_mutex_destroy(&s.lock);
}

TestSuite(client_roundtrip, .init = setup, .fini = teardown, .timeout = 300);

Test(client_roundtrip, one_segment_reads_back_every_item_exactly_once)
{
    scan_all(1, NULL);
}

Test(client_roundtrip, eight_segments_together_read_back_every_item_exactly_once)
{
    scan_all(8, NULL);
}

Test(client_roundtrip, a_throttled_scan_with_small_pages_still_reads_every_item)
{
    /* A generous budget, so that Limit is small but the test stays quick. */
    struct ddb_throttle th;
    ddb_throttle_init(&th, 4000, 0, ddb_client_now(tb.client));
    scan_all(3, &th);
    cr_expect_gt(th.consumed, 0);
    ddb_throttle_cleanup(&th);
}

Test(client_roundtrip, list_tables_names_the_new_table)
{
    char **names;
    size_t n;
    struct ddb_error err;
    ddb_error_clear(&err);
    cr_assert_eq(ddb_list_tables(tb.client, &names, &n, &err), 0, "%s", err.message);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(names[i], table) == 0;
    ddb_strv_free(names);
    cr_expect(found, "ListTables lists %s", table);
}

Test(client_roundtrip, describe_table_gives_the_key_schema_and_billing)
{
    struct ddb_error err;
    ddb_error_clear(&err);
    json_t *t = ddb_describe_table(tb.client, table, &err);
    cr_assert_not_null(t, "%s", err.message);
    struct ddb_table_info info;
    cr_assert_eq(ddb_table_info_parse(t, &info, &err), 0, "%s", err.message);
    cr_expect_str_eq(info.key.hash_name, "pk");
    cr_expect_eq(info.key.hash_type, 'S');
    cr_expect_str_eq(info.key.range_name, "sk");
    cr_expect_eq(info.key.range_type, 'N');
    cr_expect(info.on_demand);
    ddb_table_info_cleanup(&info);
    json_decref(t);
    json_t *ttl = ddb_describe_ttl(tb.client, table, &err);
    cr_assert_not_null(ttl, "%s", err.message);
    cr_expect_str_eq(json_string_value(json_object_get(ttl, "TimeToLiveStatus")), "DISABLED");
    json_decref(ttl);
}
