/* The realistic Scan answer: ddbcanned's items, end to end. */
#include "scanpage.h"

#include <stdio.h>
#include <stdlib.h>

/* Item i: ~215 bytes, as tests/tools/ddbcanned.c renders them. */
static int item(char *out, size_t cap, size_t i)
{
    static const char *notes[] = {"", "at door", "gift", "call first"};
    return snprintf(out, cap,
                    "{\"pk\":{\"S\":\"order#%010zu\"},\"cust\":{\"S\":\"c-%05zu\"},"
                    "\"amt\":{\"N\":\"%zu.%02zu\"},\"ok\":{\"BOOL\":%s},"
                    "\"tags\":{\"SS\":[\"a\",\"t%zu\"]},"
                    "\"ln\":{\"L\":[{\"M\":{\"s\":{\"S\":\"A-%zu\"},\"n\":{\"N\":\"%zu\"}}}]},"
                    "\"note\":{%s%s%s},\"sig\":{\"B\":\"c2ln%cA==\"}}",
                    i, (i * 7919) % 100000, i % 997, i % 100, i % 3 ? "true" : "false", i % 13,
                    i % 500, 1 + i % 9, i % 4 ? "\"S\":\"" : "\"NULL\":true",
                    i % 4 ? notes[i % 4] : "", i % 4 ? "\"" : "", "ABCDEFGH"[i % 8]);
}

char *scanpage_make(size_t bytes, size_t *len, size_t *n_items)
{
    size_t cap = bytes + 1024, used = 0, n = 0;
    char *body = malloc(cap);
    if (!body)
        return NULL;
    used += (size_t)snprintf(body, cap, "{\"Items\":[");
    while (used < bytes) {
        int k = item(body + used + (n > 0), cap - used - 512, n);
        if (k < 0 || used + (size_t)k + 512 >= cap)
            break;
        if (n++ > 0)
            body[used++] = ',';
        used += (size_t)k;
    }
    used += (size_t)snprintf(body + used, cap - used,
                             "],\"Count\":%zu,\"ScannedCount\":%zu,"
                             "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"order#%010zu\"}},"
                             "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":%zu.5}}",
                             n, n, n - 1, n / 8);
    *len = used;
    *n_items = n;
    return body;
}
