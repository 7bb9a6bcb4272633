/* libFuzzer target: BatchWriteItem answers (ddb/client.c's parse and error classification,
 * ddb/batch.c's ConsumedCapacity and UnprocessedItems matched back by key, the split of a refused
 * request), through a writer storing a few items on the fake transport (fuzz_bed.h says how the
 * input becomes answers). Every item must end stored or rejected, and the flush must return. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddb/batch.h"
#include "fuzz_bed.h"

static void on_reject(long tag, const struct ddb_error *err, void *ud)
{
    long *rejected = ud;
    (void)tag;
    (void)err;
    (*rejected)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ddb_key_schema key = {"pk", 'S', "sk", 'N'};
    struct fake_bed b;
    struct ddb_error err;
    struct ddb_writer_stats ws = {0};
    long rejected = 0;

    fuzz_bed_init(&b, data, size);
    ddb_error_clear(&err);
    struct ddb_writer_opts o = {.table = "t", .key = &key};
    struct ddb_writer *w = ddb_writer_new(b.client, &o, on_reject, &rejected, &err);
    if (!w)
        abort();
    for (int i = 0; i < 30; i++) {
        json_t *item = json_pack("{s:{s:s}, s:{s:s}, s:{s:[s,s]}}", "pk", "S", i % 2 ? "a" : "b",
                                 "sk", "N", i % 3 ? "1" : "1.50", "ss", "SS", "x", "y");
        char n[16];
        snprintf(n, sizeof n, "%d", i);
        json_object_set_new(json_object_get(item, "sk"), "N", json_string(n));
        if (ddb_writer_put(w, item, i, &err) != 0)
            break;
    }
    (void)ddb_writer_flush(w, &err);
    ddb_writer_get_stats(w, &ws);
    if (ws.items_stored + ws.items_rejected != ws.items_put) {
        fprintf(stderr, "flush returned with items neither stored nor rejected: put %ld stored %ld "
                        "rejected %ld\n", ws.items_put, ws.items_stored, ws.items_rejected);
        abort();
    }
    ddb_writer_free(w);
    fuzz_bed_cleanup(&b);
    return 0;
}
