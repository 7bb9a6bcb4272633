/* libFuzzer target: Scan answers (ddb/client.c's raw answers and error classification, ddb/page.c's
 * validating scanner, ddb/scan.c's page handling: Items, ConsumedCapacity, LastEvaluatedKey),
 * through a whole segment's scan on the fake transport (fuzz_bed.h says how the input becomes
 * answers). The page callback copies each item out as the export does and checks what an export
 * line relies on: the copy is one JSON object ({...}) with no newline in it. The scan must end, whatever
 * the answers are. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/page.h"
#include "ddb/scan.h"
#include "ddb/throttle.h"
#include "fuzz_bed.h"

static int on_page(const struct ddb_scan_page *page, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < page->n_items; i++) {
        const struct ddb_page_span *sp = &page->items[i];
        char *out = malloc(sp->len + 1);
        if (!out)
            return 1;
        size_t n = ddb_page_item_copy(page->body, sp, out);
        /* (Not checked with jansson: it refuses valid JSON such as 1e999 and \u0000.) */
        if (n > sp->len || n < 2 || out[0] != '{' || out[n - 1] != '}' || memchr(out, '\n', n))
            abort(); /* an export line would be broken */
        free(out);
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
