/* libFuzzer target: ddb/pagestream.c against ddb/page.c. The input's first 4 bytes seed the cut
 * points (tests/support/pagediff.c draws chunks of 1 to 8 bytes, up to 4 KB, or none from them),
 * the rest is one Scan answer; the two readers must agree on it (verdict, reason, items, "Count",
 * "ConsumedCapacity", LastEvaluatedKey), or the target aborts with what differs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagediff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seed = 0;
    if (size >= 4) {
        memcpy(&seed, data, 4);
        data += 4;
        size -= 4;
    }
    char msg[512];
    if (pagediff((const char *)data, size, 0, seed, msg, sizeof msg) != 0) {
        fprintf(stderr, "pagestream disagrees with page.c: %s\n", msg);
        abort();
    }
    return 0;
}
