/* DynamoDB items (AttributeValue maps, as jansson values): size, key checks, key identity. Pure. */
#ifndef DDB_ITEM_H
#define DDB_ITEM_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

struct ddb_key_schema {
    char *hash_name;  /* owned */
    char hash_type;   /* 'S', 'N' or 'B' */
    char *range_name; /* owned, NULL when the table has no sort key */
    char range_type;
};
void ddb_key_schema_cleanup(struct ddb_key_schema *k);
int ddb_key_schema_copy(struct ddb_key_schema *dst, const struct ddb_key_schema *src);

/* The item's size as DynamoDB counts it against the 400 KB limit: attribute names and values in
 * UTF-8 bytes, numbers as (significant digits / 2 + 1), binary as decoded bytes, BOOL and NULL 1,
 * lists and maps 3 + their elements (+1 per element), map keys counted as names. */
size_t ddb_item_size(const json_t *item);

/* Checks what DynamoDB would reject in a PutRequest before sending it: not an object, a value that
 * is not a single-typed AttributeValue, a missing key attribute, a key of the wrong type or empty,
 * and an item over DDB_ITEM_MAX. Returns 0, or -1 with a message in errbuf. */
int ddb_item_check(const json_t *item, const struct ddb_key_schema *key, char *errbuf,
                   size_t errlen);

/* Appends a string that identifies the item's primary key (equal keys, equal strings). Returns 0,
 * or -1 when a key attribute is missing. */
int ddb_item_key_append(const json_t *item, const struct ddb_key_schema *key, struct buf *out);

#endif
