/* A realistic Scan answer for tests and benchmarks: items shaped as tests/tools/ddbcanned.c's
 * (about 215 bytes each, every DynamoDB type), compact as DynamoDB sends them, with "Count",
 * "ScannedCount", "LastEvaluatedKey" and "ConsumedCapacity". */
#ifndef TESTS_SCANPAGE_H
#define TESTS_SCANPAGE_H

#include <stddef.h>

/* An answer of about bytes bytes of items (NUL-terminated; caller frees), its length in *len and
 * its number of items in *n_items. NULL when out of memory. */
char *scanpage_make(size_t bytes, size_t *len, size_t *n_items);

#endif
