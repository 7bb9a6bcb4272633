/* Table-level operations: ListTables, DescribeTable, DescribeTimeToLive, CreateTable, and waiting
 * for a table to become ACTIVE. Blocking; never call on the I/O thread. */
#ifndef DDB_TABLE_H
#define DDB_TABLE_H

#include <jansson.h>
#include <stddef.h>

#include "ddb/client.h"
#include "ddb/item.h"

/* Every page of ListTables. On success *names is a new NULL-terminated array of new strings (free
 * with ddb_strv_free) in the server's order, and *n their count. */
int ddb_list_tables(struct ddb_client *c, char ***names, size_t *n, struct ddb_error *err);
void ddb_strv_free(char **v);

/* DescribeTable's "Table" object: a new reference, or NULL with err filled (DDB_ENOTFOUND when
 * there is no such table). */
json_t *ddb_describe_table(struct ddb_client *c, const char *table, struct ddb_error *err);

/* DescribeTimeToLive's "TimeToLiveDescription": a new reference, or NULL with err filled. */
json_t *ddb_describe_ttl(struct ddb_client *c, const char *table, struct ddb_error *err);

/* CreateTable with request (borrowed; a CreateTable request document). Returns 0 or -1. */
int ddb_create_table(struct ddb_client *c, const json_t *request, struct ddb_error *err);

/* UpdateTimeToLive with spec (borrowed: {Enabled, AttributeName}). Returns 0 or -1. */
int ddb_update_ttl(struct ddb_client *c, const char *table, const json_t *spec,
                   struct ddb_error *err);

/* Polls DescribeTable until TableStatus is ACTIVE (and every GSI too), or timeout_ms passes
 * (DDB_ETIMEOUT). The polling waits are timers on the I/O thread. */
int ddb_wait_active(struct ddb_client *c, const char *table, long timeout_ms,
                    struct ddb_error *err);

/* What ddbfs needs to know about a table, read from a DescribeTable "Table" object. */
struct ddb_table_info {
    char *name;                /* owned */
    struct ddb_key_schema key;
    int on_demand;             /* BillingMode PAY_PER_REQUEST */
    double read_capacity;      /* provisioned RCU, 0 for on-demand */
    double write_capacity;     /* provisioned WCU, 0 for on-demand */
    double max_read_requests;  /* OnDemandThroughput.MaxReadRequestUnits, 0 when not set */
    double max_write_requests; /* OnDemandThroughput.MaxWriteRequestUnits, 0 when not set */
    long long item_count;      /* as reported (dynalite: always 0) */
    long long size_bytes;      /* as reported (dynalite: always 0) */
};

/* Fills info from table (borrowed). Returns 0 or -1 with err filled (DDB_EPROTOCOL). */
int ddb_table_info_parse(const json_t *table, struct ddb_table_info *info, struct ddb_error *err);
void ddb_table_info_cleanup(struct ddb_table_info *info);

#endif
