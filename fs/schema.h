/* _schema.json: a table's definition as a CreateTable request, built from DescribeTable, so that
 *
 *     aws dynamodb create-table --cli-input-json file://_schema.json
 *
 * recreates the table (keys, indexes, billing, stream, encryption, class, deletion protection),
 * and ddbfs can restore it with ddb_create_table. The document holds CreateTable input members
 * only: the AWS CLI validates --cli-input-json against the operation's input shape and rejects any
 * other key, at any depth ("Unknown parameter in input: ..."), so read-only fields of
 * DescribeTable (TableStatus, IndexArn, NumberOfDecreasesToday, ...) never appear in it.
 *
 * Time to live is not a CreateTable parameter: it is set afterwards with UpdateTimeToLive, and
 * fs_schema_ttl_from_description gives that call's TimeToLiveSpecification.
 *
 * Not in the document, because DescribeTable does not tell them or CreateTable does not take
 * them: tags (ListTagsOfResource), resource policy, replicas of global tables, point-in-time
 * recovery, contributor insights, Kinesis streaming, warm throughput.
 *
 * Pure functions over jansson values: no I/O, no state. */
#ifndef FS_SCHEMA_H
#define FS_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* The CreateTable document for table, DescribeTable's "Table" object (borrowed). Returns a new
 * reference, or NULL with a message in errbuf (errbuf may be NULL) when table lacks what
 * CreateTable needs or is inconsistent (a key without an attribute definition, a provisioned table
 * or index without capacity, ...).
 *
 * Members, in this order, each only when it applies:
 *   TableName, AttributeDefinitions (those the keys of the table and its indexes use),
 *   KeySchema (HASH then RANGE), BillingMode (PAY_PER_REQUEST when BillingModeSummary says so or,
 *   without a summary, when both capacities are 0; else PROVISIONED), ProvisionedThroughput
 *   {ReadCapacityUnits, WriteCapacityUnits} (provisioned only), OnDemandThroughput (on-demand
 *   only, the maxima that are >= 1), GlobalSecondaryIndexes [{IndexName, KeySchema, Projection,
 *   ProvisionedThroughput or OnDemandThroughput as for the table}], LocalSecondaryIndexes
 *   [{IndexName, KeySchema, Projection}], StreamSpecification {StreamEnabled, StreamViewType}
 *   (stream enabled), SSESpecification {Enabled, SSEType "KMS", KMSMasterKeyId} (SSEDescription
 *   ENABLED, ENABLING or UPDATING with KMS), TableClass, DeletionProtectionEnabled (true only). */
json_t *fs_schema_from_description(const json_t *table, char *errbuf, size_t errlen);

/* The TimeToLiveSpecification {Enabled: true, AttributeName} of an UpdateTimeToLive request, for
 * ttl, DescribeTimeToLive's "TimeToLiveDescription" object (borrowed, may be NULL). On success
 * returns 0 and sets *spec to a new reference, or to NULL when TTL is off (no ttl, or a status
 * other than ENABLED or ENABLING). Returns -1 with a message in errbuf when the status says
 * enabled but no attribute is named. */
int fs_schema_ttl_from_description(const json_t *ttl, json_t **spec, char *errbuf, size_t errlen);

/* schema (borrowed) as _schema.json's bytes: indented by 2, object members in a fixed order
 * whatever order schema holds them in (CreateTable's members in the order above, unknown ones
 * after them by name), arrays in their order, ending with a newline. The same document always
 * gives the same bytes. Returns a new string (free()), or NULL when schema is NULL or memory runs
 * out. */
char *fs_schema_dump(const json_t *schema);

/* 1 when a and b (borrowed; CreateTable documents or DescribeTable "Table" objects) have the same
 * table key: hash key name and type, and range key name and type or both none. Otherwise 0, with
 * a message in errbuf naming a's key first, e.g. "hash key: id (S) vs id (N); range key: ts (N) vs
 * none", or saying which document has no readable key. */
int fs_schema_keys_match(const json_t *a, const json_t *b, char *errbuf, size_t errlen);

#endif
