/* Shared by the integration tests: a client wired to the dynalite that tests/harness/with-dynalite
 * started (DDBFS_TEST_ENDPOINT), and item helpers. */
#ifndef TESTS_TESTBED_H
#define TESTS_TESTBED_H

#include <jansson.h>

#include "ddb/client.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "ddb/http.h"

struct testbed {
    struct ddb_config cfg;
    struct ddb_creds_provider *creds;
    struct ddb_http *http;
    struct ddb_client *client;
};

/* Sets up against DDBFS_TEST_ENDPOINT; aborts the test (criterion cr_fatal) when that fails. */
void testbed_init(struct testbed *tb);
void testbed_cleanup(struct testbed *tb);

/* The endpoint URL (borrowed). */
const char *testbed_endpoint(void);

/* A table name unique to this process: prefix + pid + counter (new string). */
char *testbed_table_name(const char *prefix);

/* Creates a table: hash key hash_name of type hash_type ("S", "N", "B"), optional range key
 * (range_name NULL for none), on-demand billing; waits until ACTIVE. Aborts the test on failure. */
void testbed_create_table(struct testbed *tb, const char *table, const char *hash_name,
                          const char *hash_type, const char *range_name, const char *range_type);

/* A copy of item with every set (SS, NS, BS) sorted, so that items compare with json_equal
 * whatever order a server returns set members in. New reference. */
json_t *testbed_normalize(const json_t *item);

/* The test items: item i of a family that covers every attribute type (S, N with 38 significant
 * digits, B, BOOL, NULL, L, nested M, SS, NS, BS, binary inside maps and lists, non-ASCII text);
 * item 0 is close to 400 KB. Keys: pk (S) and sk (N). Numbers are canonical (as dynalite
 * normalises them). New reference. */
json_t *testbed_item(long i);

/* A uniformly random byte string, base64-encoded (new string). */
char *testbed_base64_random(size_t nbytes, unsigned *seed);

#endif
