/* libFuzzer target: Scan answers (ddb/client.c's parse and error classification, ddb/scan.c's
 * page handling: Items, ConsumedCapacity, LastEvaluatedKey), through a whole segment's scan on the
 * fake transport (fuzz_bed.h says how the input becomes answers). The page callback serializes
 * each item as the export does. The scan must end, whatever the answers are. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "ddb/scan.h"
#include "ddb/throttle.h"
#include "fuzz_bed.h"

static int on_page(json_t *items, void *ud)
{
    size_t i;
    json_t *item;
    (void)ud;
    json_array_foreach(items, i, item)
    {
        char *line = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        free(line);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fake_bed b;
    struct ddb_error err;
    struct ddb_scan_stats stats = {0};
    struct ddb_throttle th;

    fuzz_bed_init(&b, data, size);
    ddb_throttle_init(&th, 1000.0, 500.0, fake_transport_now(b.ft));
    struct ddb_scan_opts o = {.table = "t", .segment = 1, .total_segments = 4, .throttle = &th};
    ddb_error_clear(&err);
    (void)ddb_scan_run(b.client, &o, on_page, NULL, &stats, &err);
    fuzz_bed_cleanup(&b);
    ddb_throttle_cleanup(&th);
    return 0;
}
