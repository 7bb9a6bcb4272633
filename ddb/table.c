/* ListTables, DescribeTable, DescribeTimeToLive, CreateTable, and waiting for ACTIVE. */
#include "ddb/table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define WAIT_POLL_MS 250

void ddb_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int ddb_list_tables(struct ddb_client *c, char ***names, size_t *n, struct ddb_error *err)
{
    char **v = NULL;
    size_t len = 0, cap = 0;
    json_t *start = NULL; /* ExclusiveStartTableName of the next page (new reference) */
    int rc = -1;
    *names = NULL;
    *n = 0;
    for (;;) {
        json_t *req = json_object();
        if (start)
            json_object_set(req, "ExclusiveStartTableName", start);
        json_t *resp = ddb_client_call_sync(c, "ListTables", req, err);
        json_decref(req);
        if (!resp)
            goto out;
        json_t *arr = json_object_get(resp, "TableNames");
        if (!json_is_array(arr)) {
            ddb_error_set(err, DDB_EPROTOCOL, "ListTables: the answer has no TableNames");
            json_decref(resp);
            goto out;
        }
        size_t i;
        json_t *name;
        json_array_foreach(arr, i, name)
        {
            if (!json_is_string(name))
                continue;
            if (len + 2 > cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char **p = realloc(v, ncap * sizeof *p);
                if (!p) {
                    json_decref(resp);
                    ddb_error_set(err, DDB_ENOMEM, "out of memory");
                    goto out;
                }
                v = p;
                cap = ncap;
            }
            v[len] = strdup(json_string_value(name));
            if (!v[len]) {
                json_decref(resp);
                ddb_error_set(err, DDB_ENOMEM, "out of memory");
                goto out;
            }
            v[++len] = NULL;
        }
        json_decref(start);
        start = json_incref(json_object_get(resp, "LastEvaluatedTableName"));
        json_decref(resp);
        if (!json_is_string(start))
            break;
    }
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v) {
            ddb_error_set(err, DDB_ENOMEM, "out of memory");
            goto out;
        }
    }
    *names = v;
    *n = len;
    v = NULL;
    rc = 0;
out:
    json_decref(start);
    ddb_strv_free(v);
    return rc;
}

static json_t *describe(struct ddb_client *c, const char *op, const char *table, const char *field,
                        struct ddb_error *err)
{
    json_t *req = json_pack("{s:s}", "TableName", table);
    if (!req) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return NULL;
    }
    json_t *resp = ddb_client_call_sync(c, op, req, err);
    json_decref(req);
    if (!resp)
        return NULL;
    json_t *obj = json_incref(json_object_get(resp, field));
    json_decref(resp);
    if (!json_is_object(obj)) {
        json_decref(obj);
        ddb_error_set(err, DDB_EPROTOCOL, "%s %s: the answer has no %s", op, table, field);
        return NULL;
    }
    return obj;
}

json_t *ddb_describe_table(struct ddb_client *c, const char *table, struct ddb_error *err)
{
    return describe(c, "DescribeTable", table, "Table", err);
}

json_t *ddb_describe_ttl(struct ddb_client *c, const char *table, struct ddb_error *err)
{
    return describe(c, "DescribeTimeToLive", table, "TimeToLiveDescription", err);
}

int ddb_create_table(struct ddb_client *c, const json_t *request, struct ddb_error *err)
{
    json_t *resp = ddb_client_call_sync(c, "CreateTable", request, err);
    if (!resp)
        return -1;
    json_decref(resp);
    return 0;
}

int ddb_update_ttl(struct ddb_client *c, const char *table, const json_t *spec,
                   struct ddb_error *err)
{
    json_t *req = json_pack("{s:s, s:O}", "TableName", table, "TimeToLiveSpecification", spec);
    if (!req) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return -1;
    }
    json_t *resp = ddb_client_call_sync(c, "UpdateTimeToLive", req, err);
    json_decref(req);
    if (!resp)
        return -1;
    json_decref(resp);
    return 0;
}

/* Waiting between polls is a timer on the I/O thread that wakes this thread. */
struct pause {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fired;
};

static void pause_fire(void *ud)
{
    struct pause *p = ud;
    pthread_mutex_lock(&p->lock);
    p->fired = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static int pause_ms(struct ddb_client *c, long ms)
{
    struct pause p = {.fired = 0};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    int rc = ddb_client_timer(c, ms, pause_fire, &p);
    if (rc == 0) {
        pthread_mutex_lock(&p.lock);
        while (!p.fired)
            pthread_cond_wait(&p.cond, &p.lock);
        pthread_mutex_unlock(&p.lock);
    }
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    return rc;
}

static int all_active(const json_t *table)
{
    const char *st = json_string_value(json_object_get(table, "TableStatus"));
    if (!st || strcmp(st, "ACTIVE") != 0)
        return 0;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(table, "GlobalSecondaryIndexes"), i, g)
    {
        const char *gs = json_string_value(json_object_get(g, "IndexStatus"));
        if (gs && strcmp(gs, "ACTIVE") != 0)
            return 0;
    }
    return 1;
}

int ddb_wait_active(struct ddb_client *c, const char *table, long timeout_ms,
                    struct ddb_error *err)
{
    double deadline = ddb_client_now(c) + (double)timeout_ms / 1000.0;
    const char *last = "unknown";
    char status[64] = "unknown";
    for (;;) {
        struct ddb_error e;
        ddb_error_clear(&e);
        json_t *t = ddb_describe_table(c, table, &e);
        if (t) {
            int ok = all_active(t);
            const char *st = json_string_value(json_object_get(t, "TableStatus"));
            snprintf(status, sizeof status, "%s", st ? st : "unknown");
            json_decref(t);
            if (ok)
                return 0;
            last = status;
        } else if (e.code != DDB_ENOTFOUND) {
            /* Not found is expected for a moment after CreateTable (dynalite says so while
             * CREATING); anything else is a real failure. */
            if (err)
                *err = e;
            return -1;
        } else {
            last = "not found yet";
        }
        if (ddb_client_now(c) >= deadline) {
            ddb_error_set(err, DDB_ETIMEOUT, "table %s did not become ACTIVE within %ld s (last: %s)",
                          table, timeout_ms / 1000, last);
            return -1;
        }
        if (pause_ms(c, WAIT_POLL_MS) != 0) {
            ddb_error_set(err, DDB_ECANCELED, "waiting for table %s: canceled", table);
            return -1;
        }
    }
}

static int key_type(const json_t *defs, const char *name, char *type)
{
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d)
    {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        const char *t = json_string_value(json_object_get(d, "AttributeType"));
        if (n && t && strcmp(n, name) == 0 && (t[0] == 'S' || t[0] == 'N' || t[0] == 'B') && !t[1]) {
            *type = t[0];
            return 0;
        }
    }
    return -1;
}

int ddb_table_info_parse(const json_t *table, struct ddb_table_info *info, struct ddb_error *err)
{
    memset(info, 0, sizeof *info);
    const char *name = json_string_value(json_object_get(table, "TableName"));
    const json_t *defs = json_object_get(table, "AttributeDefinitions");
    if (!name) {
        ddb_error_set(err, DDB_EPROTOCOL, "DescribeTable: no TableName in the answer");
        return -1;
    }
    info->name = strdup(name);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(table, "KeySchema"), i, k)
    {
        const char *an = json_string_value(json_object_get(k, "AttributeName"));
        const char *kt = json_string_value(json_object_get(k, "KeyType"));
        if (!an || !kt)
            continue;
        if ((strcmp(kt, "HASH") == 0 && info->key.hash_name) ||
            (strcmp(kt, "RANGE") == 0 && info->key.range_name))
            goto bad; /* a second key of one kind: not a table's key schema */
        if (strcmp(kt, "HASH") == 0) {
            info->key.hash_name = strdup(an);
            if (key_type(defs, an, &info->key.hash_type) != 0)
                goto bad;
        } else if (strcmp(kt, "RANGE") == 0) {
            info->key.range_name = strdup(an);
            if (key_type(defs, an, &info->key.range_type) != 0)
                goto bad;
        }
    }
    if (!info->name || !info->key.hash_name)
        goto bad;
    const char *mode =
        json_string_value(json_object_get(json_object_get(table, "BillingModeSummary"), "BillingMode"));
    info->on_demand = mode && strcmp(mode, "PAY_PER_REQUEST") == 0;
    const json_t *pt = json_object_get(table, "ProvisionedThroughput");
    info->read_capacity = json_number_value(json_object_get(pt, "ReadCapacityUnits"));
    info->write_capacity = json_number_value(json_object_get(pt, "WriteCapacityUnits"));
    if (!mode && info->read_capacity <= 0 && info->write_capacity <= 0)
        info->on_demand = 1; /* no provisioned throughput at all: on demand */
    if (info->on_demand)
        info->read_capacity = info->write_capacity = 0;
    const json_t *od = json_object_get(table, "OnDemandThroughput");
    info->max_read_requests = json_number_value(json_object_get(od, "MaxReadRequestUnits"));
    info->max_write_requests = json_number_value(json_object_get(od, "MaxWriteRequestUnits"));
    if (info->max_read_requests < 0)
        info->max_read_requests = 0; /* -1 means no maximum */
    if (info->max_write_requests < 0)
        info->max_write_requests = 0;
    info->item_count = json_integer_value(json_object_get(table, "ItemCount"));
    info->size_bytes = json_integer_value(json_object_get(table, "TableSizeBytes"));
    return 0;
bad:
    ddb_error_set(err, DDB_EPROTOCOL, "DescribeTable %s: key schema not understood", name);
    ddb_table_info_cleanup(info);
    return -1;
}

void ddb_table_info_cleanup(struct ddb_table_info *info)
{
    free(info->name);
    ddb_key_schema_cleanup(&info->key);
    memset(info, 0, sizeof *info);
}
