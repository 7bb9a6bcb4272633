/* _schema.json: DescribeTable in, CreateTable out. Every member of the output is built from
 * scratch out of the fields CreateTable takes, never copied wholesale from the description, so no
 * read-only field (IndexStatus, NumberOfDecreasesToday, ...) can leak into it. */
#include "fs/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static void fail(char *errbuf, size_t errlen, const char *fmt,
                                                       ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static const char *str_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A whole number (jansson integer, or real without a fraction). 0, or -1 when absent or not. */
static int count_member(const json_t *obj, const char *key, json_int_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.0e15 && d <= 9.0e15 && d == (double)(json_int_t)d) {
            *out = (json_int_t)d;
            return 0;
        }
    }
    return -1;
}

/* ---- keys ---- */

struct key_pair {
    const char *hash, *range; /* borrowed; range NULL when none */
};

static int valid_attr_type(const char *t)
{
    return t && (!strcmp(t, "S") || !strcmp(t, "N") || !strcmp(t, "B"));
}

/* Reads a KeySchema array: exactly one HASH, at most one RANGE, nothing else. */
static int read_key_schema(const json_t *ks, const char *what, struct key_pair *kp, char *errbuf,
                           size_t errlen)
{
    kp->hash = kp->range = NULL;
    if (!json_is_array(ks) || json_array_size(ks) < 1 || json_array_size(ks) > 2) {
        fail(errbuf, errlen, "%s: KeySchema is not a list of one or two keys", what);
        return -1;
    }
    size_t i;
    const json_t *el;
    json_array_foreach(ks, i, el)
    {
        const char *name = str_member(el, "AttributeName");
        const char *type = str_member(el, "KeyType");
        if (!name || !*name) {
            fail(errbuf, errlen, "%s: KeySchema[%zu] has no AttributeName", what, i);
            return -1;
        }
        const char **slot = NULL;
        if (type && !strcmp(type, "HASH"))
            slot = &kp->hash;
        else if (type && !strcmp(type, "RANGE"))
            slot = &kp->range;
        if (!slot) {
            fail(errbuf, errlen, "%s: key %s has KeyType %s, not HASH or RANGE", what, name,
                 type ? type : "(none)");
            return -1;
        }
        if (*slot) {
            fail(errbuf, errlen, "%s: KeySchema has two %s keys", what, type);
            return -1;
        }
        *slot = name;
    }
    if (!kp->hash) {
        fail(errbuf, errlen, "%s: KeySchema has no HASH key", what);
        return -1;
    }
    if (kp->range && !strcmp(kp->hash, kp->range)) {
        fail(errbuf, errlen, "%s: %s is both the HASH and the RANGE key", what, kp->hash);
        return -1;
    }
    return 0;
}

static json_t *key_schema_json(const struct key_pair *kp)
{
    json_t *ks = json_pack("[{s:s, s:s}]", "AttributeName", kp->hash, "KeyType", "HASH");
    if (ks && kp->range &&
        json_array_append_new(
            ks, json_pack("{s:s, s:s}", "AttributeName", kp->range, "KeyType", "RANGE")) != 0) {
        json_decref(ks);
        return NULL;
    }
    return ks;
}

/* The AttributeType that AttributeDefinitions gives name, or NULL. */
static const char *attr_type(const json_t *defs, const char *name)
{
    size_t i;
    const json_t *d;
    json_array_foreach(defs, i, d)
    {
        const char *n = str_member(d, "AttributeName");
        if (n && !strcmp(n, name))
            return str_member(d, "AttributeType");
    }
    return NULL;
}

/* ---- throughput and projection ---- */

/* {ReadCapacityUnits, WriteCapacityUnits} from a ProvisionedThroughput description; both must be
 * at least 1, as CreateTable requires of a provisioned table or index. */
static json_t *provisioned_json(const json_t *pt, const char *what, char *errbuf, size_t errlen)
{
    json_int_t r = 0, w = 0;
    if (count_member(pt, "ReadCapacityUnits", &r) != 0 ||
        count_member(pt, "WriteCapacityUnits", &w) != 0 || r < 1 || w < 1) {
        fail(errbuf, errlen,
             "%s: provisioned, but ProvisionedThroughput does not give both capacities (>= 1)",
             what);
        return NULL;
    }
    return json_pack("{s:I, s:I}", "ReadCapacityUnits", r, "WriteCapacityUnits", w);
}

/* The maxima of an OnDemandThroughput that are set (>= 1; -1 means none), or NULL when none is:
 * an OnDemandThroughput without members would be rejected. */
static json_t *on_demand_json(const json_t *odt)
{
    static const char *const names[] = {"MaxReadRequestUnits", "MaxWriteRequestUnits"};
    json_t *out = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_int_t v;
        if (count_member(odt, names[i], &v) != 0 || v < 1)
            continue;
        if (!out)
            out = json_object();
        json_object_set_new(out, names[i], json_integer(v));
    }
    return out;
}

static json_t *projection_json(const json_t *p, const char *what, char *errbuf, size_t errlen)
{
    const char *type = str_member(p, "ProjectionType");
    if (!type || (strcmp(type, "ALL") && strcmp(type, "KEYS_ONLY") && strcmp(type, "INCLUDE"))) {
        fail(errbuf, errlen, "%s: Projection has no ProjectionType ALL, KEYS_ONLY or INCLUDE",
             what);
        return NULL;
    }
    json_t *out = json_pack("{s:s}", "ProjectionType", type);
    const json_t *nka = json_object_get(p, "NonKeyAttributes");
    if (out && !strcmp(type, "INCLUDE") && json_is_array(nka) && json_array_size(nka) > 0) {
        json_t *list = json_array();
        size_t i;
        const json_t *a;
        json_array_foreach(nka, i, a)
        {
            if (!json_is_string(a)) {
                fail(errbuf, errlen, "%s: NonKeyAttributes[%zu] is not a string", what, i);
                json_decref(list);
                json_decref(out);
                return NULL;
            }
            json_array_append_new(list, json_string(json_string_value(a)));
        }
        json_object_set_new(out, "NonKeyAttributes", list);
    }
    return out;
}

/* ---- indexes ---- */

struct build {
    const json_t *table;
    int on_demand;
    json_t *used; /* set of attribute names the keys use: name -> true */
    char *errbuf;
    size_t errlen;
};

/* One index of a GlobalSecondaryIndexes or LocalSecondaryIndexes description. */
static json_t *index_json(struct build *b, const json_t *ix, const char *list, size_t n, int global)
{
    char what[320];
    const char *name = str_member(ix, "IndexName");
    if (!name || !*name) {
        fail(b->errbuf, b->errlen, "%s[%zu] has no IndexName", list, n);
        return NULL;
    }
    snprintf(what, sizeof what, "index %s", name);

    json_t *out = NULL, *ks = NULL, *proj = NULL, *tp = NULL;
    struct key_pair kp;
    if (read_key_schema(json_object_get(ix, "KeySchema"), what, &kp, b->errbuf, b->errlen) != 0)
        goto out;
    ks = key_schema_json(&kp);
    proj = projection_json(json_object_get(ix, "Projection"), what, b->errbuf, b->errlen);
    if (!ks || !proj)
        goto out;
    json_object_set_new(b->used, kp.hash, json_true());
    if (kp.range)
        json_object_set_new(b->used, kp.range, json_true());

    if (global && !b->on_demand) {
        tp = provisioned_json(json_object_get(ix, "ProvisionedThroughput"), what, b->errbuf,
                              b->errlen);
        if (!tp)
            goto out;
    } else if (global) {
        tp = on_demand_json(json_object_get(ix, "OnDemandThroughput"));
    }

    out = json_pack("{s:s, s:O, s:O}", "IndexName", name, "KeySchema", ks, "Projection", proj);
    if (out && tp)
        json_object_set(out, b->on_demand ? "OnDemandThroughput" : "ProvisionedThroughput", tp);
out:
    json_decref(ks);
    json_decref(proj);
    json_decref(tp);
    return out;
}

/* Sets doc[member] to the list of indexes, or leaves it out when there are none. */
static int indexes(struct build *b, json_t *doc, const char *member, int global)
{
    const json_t *list = json_object_get(b->table, member);
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list)) {
        fail(b->errbuf, b->errlen, "%s is not a list", member);
        return -1;
    }
    if (json_array_size(list) == 0)
        return 0;
    json_t *out = json_array();
    size_t i;
    const json_t *ix;
    json_array_foreach(list, i, ix)
    {
        json_t *one = index_json(b, ix, member, i, global);
        if (!one) {
            json_decref(out);
            return -1;
        }
        json_array_append_new(out, one);
    }
    json_object_set_new(doc, member, out);
    return 0;
}

/* ---- table-wide settings ---- */

static int billing_on_demand(const json_t *table, int *on_demand, char *errbuf, size_t errlen)
{
    const char *mode = str_member(json_object_get(table, "BillingModeSummary"), "BillingMode");
    if (mode) {
        if (!strcmp(mode, "PAY_PER_REQUEST") || !strcmp(mode, "PROVISIONED")) {
            *on_demand = !strcmp(mode, "PAY_PER_REQUEST");
            return 0;
        }
        fail(errbuf, errlen, "BillingModeSummary has BillingMode %s", mode);
        return -1;
    }
    /* No summary: a table that was never on-demand, or one described by a server that omits it.
     * On-demand tables report both capacities as 0. */
    const json_t *pt = json_object_get(table, "ProvisionedThroughput");
    json_int_t r = 0, w = 0;
    count_member(pt, "ReadCapacityUnits", &r);
    count_member(pt, "WriteCapacityUnits", &w);
    *on_demand = r == 0 && w == 0;
    return 0;
}

static void stream_spec(json_t *doc, const json_t *table, int *err, char *errbuf, size_t errlen)
{
    const json_t *ss = json_object_get(table, "StreamSpecification");
    if (!json_is_true(json_object_get(ss, "StreamEnabled")))
        return;
    const char *view = str_member(ss, "StreamViewType");
    if (!view) {
        fail(errbuf, errlen, "StreamSpecification: stream enabled without a StreamViewType");
        *err = 1;
        return;
    }
    json_object_set_new(doc, "StreamSpecification",
                        json_pack("{s:b, s:s}", "StreamEnabled", 1, "StreamViewType", view));
}

/* Encryption with a KMS key that is the account's (customer or AWS managed). An AWS owned key,
 * the default, shows as no SSEDescription or a DISABLED one, and needs no specification. */
static void sse_spec(json_t *doc, const json_t *table)
{
    const json_t *sse = json_object_get(table, "SSEDescription");
    const char *status = str_member(sse, "Status");
    const char *type = str_member(sse, "SSEType");
    if (!status || !type || strcmp(type, "KMS"))
        return;
    if (strcmp(status, "ENABLED") && strcmp(status, "ENABLING") && strcmp(status, "UPDATING"))
        return;
    json_t *spec = json_pack("{s:b, s:s}", "Enabled", 1, "SSEType", "KMS");
    const char *key = str_member(sse, "KMSMasterKeyArn");
    if (spec && key && *key)
        json_object_set_new(spec, "KMSMasterKeyId", json_string(key));
    json_object_set_new(doc, "SSESpecification", spec);
}

/* ---- the document ---- */

/* AttributeDefinitions restricted to the names in used, in the description's order; every used
 * name must have a valid definition. */
static json_t *attribute_definitions(const json_t *defs, const json_t *used, char *errbuf,
                                     size_t errlen)
{
    if (!json_is_array(defs)) {
        fail(errbuf, errlen, "AttributeDefinitions is not a list");
        return NULL;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)used, name, v)
    {
        const char *type = attr_type(defs, name);
        if (!valid_attr_type(type)) {
            fail(errbuf, errlen, "key attribute %s has %s in AttributeDefinitions", name,
                 type ? "a type other than S, N or B" : "no definition");
            return NULL;
        }
    }
    json_t *out = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(defs, i, d)
    {
        const char *n = str_member(d, "AttributeName");
        if (!n || !json_object_get(used, n) || attr_type(out, n))
            continue;
        json_array_append_new(out, json_pack("{s:s, s:s}", "AttributeName", n, "AttributeType",
                                             str_member(d, "AttributeType")));
    }
    return out;
}

json_t *fs_schema_from_description(const json_t *table, char *errbuf, size_t errlen)
{
    struct build b = {.table = table, .errbuf = errbuf, .errlen = errlen};
    json_t *doc = NULL, *ks = NULL, *tail = NULL, *defs = NULL;
    int err = 0;

    const char *name = str_member(table, "TableName");
    if (!json_is_object(table) || !name || !*name) {
        fail(errbuf, errlen, "the table description has no TableName");
        goto fail;
    }
    struct key_pair kp;
    if (read_key_schema(json_object_get(table, "KeySchema"), "table", &kp, errbuf, errlen) != 0)
        goto fail;
    if (billing_on_demand(table, &b.on_demand, errbuf, errlen) != 0)
        goto fail;
    b.used = json_object();
    json_object_set_new(b.used, kp.hash, json_true());
    if (kp.range)
        json_object_set_new(b.used, kp.range, json_true());

    /* The indexes go after the billing members but add to the attributes in use, which come
     * before them: build them into tail first. */
    tail = json_object();
    if (indexes(&b, tail, "GlobalSecondaryIndexes", 1) != 0 ||
        indexes(&b, tail, "LocalSecondaryIndexes", 0) != 0)
        goto fail;
    defs = attribute_definitions(json_object_get(table, "AttributeDefinitions"), b.used, errbuf,
                                 errlen);
    ks = key_schema_json(&kp);
    if (!defs || !ks)
        goto fail;

    doc =
        json_pack("{s:s, s:O, s:O, s:s}", "TableName", name, "AttributeDefinitions", defs,
                  "KeySchema", ks, "BillingMode", b.on_demand ? "PAY_PER_REQUEST" : "PROVISIONED");
    if (!doc)
        goto fail;
    if (!b.on_demand) {
        json_t *pt = provisioned_json(json_object_get(table, "ProvisionedThroughput"), "table",
                                      errbuf, errlen);
        if (!pt)
            goto fail;
        json_object_set_new(doc, "ProvisionedThroughput", pt);
    } else {
        json_t *odt = on_demand_json(json_object_get(table, "OnDemandThroughput"));
        if (odt)
            json_object_set_new(doc, "OnDemandThroughput", odt);
    }
    json_object_update(doc, tail);
    stream_spec(doc, table, &err, errbuf, errlen);
    if (err)
        goto fail;
    sse_spec(doc, table);
    const char *cls = str_member(json_object_get(table, "TableClassSummary"), "TableClass");
    if (cls && *cls)
        json_object_set_new(doc, "TableClass", json_string(cls));
    if (json_is_true(json_object_get(table, "DeletionProtectionEnabled")))
        json_object_set_new(doc, "DeletionProtectionEnabled", json_true());
    goto out;
fail:
    json_decref(doc);
    doc = NULL;
out:
    json_decref(b.used);
    json_decref(tail);
    json_decref(defs);
    json_decref(ks);
    return doc;
}

int fs_schema_ttl_from_description(const json_t *ttl, json_t **spec, char *errbuf, size_t errlen)
{
    *spec = NULL;
    const char *status = str_member(ttl, "TimeToLiveStatus");
    if (!status || (strcmp(status, "ENABLED") && strcmp(status, "ENABLING")))
        return 0;
    const char *attr = str_member(ttl, "AttributeName");
    if (!attr || !*attr) {
        fail(errbuf, errlen, "TimeToLiveStatus is %s but no AttributeName is given", status);
        return -1;
    }
    *spec = json_pack("{s:b, s:s}", "Enabled", 1, "AttributeName", attr);
    return *spec ? 0 : -1;
}

/* ---- dump ---- */

/* Member order of every object in the document. One list serves all levels because each level's
 * members keep their relative order in it: a table is TableName, AttributeDefinitions, KeySchema,
 * BillingMode, ...; an index is IndexName, KeySchema, Projection, ProvisionedThroughput, ... */
static const char *const member_order[] = {
    "TableName",
    "IndexName",
    "AttributeName",
    "AttributeType",
    "KeyType",
    "AttributeDefinitions",
    "KeySchema",
    "Projection",
    "ProjectionType",
    "NonKeyAttributes",
    "BillingMode",
    "ProvisionedThroughput",
    "ReadCapacityUnits",
    "WriteCapacityUnits",
    "OnDemandThroughput",
    "MaxReadRequestUnits",
    "MaxWriteRequestUnits",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "StreamEnabled",
    "StreamViewType",
    "SSESpecification",
    "Enabled",
    "SSEType",
    "KMSMasterKeyId",
    "TableClass",
    "DeletionProtectionEnabled",
};

static size_t member_rank(const char *key)
{
    size_t n = sizeof member_order / sizeof member_order[0];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(member_order[i], key))
            return i;
    return n;
}

static int member_cmp(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    size_t ra = member_rank(a), rb = member_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(a, b);
}

/* A deep copy of v with every object's members inserted in member_order. */
static json_t *canonical(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        const json_t *el;
        json_array_foreach(v, i, el)
        {
            json_t *c = canonical(el);
            if (!c || json_array_append_new(out, c) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);

    size_t n = json_object_size(v), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *out = json_object();
    if (!keys || !out)
        goto fail;
    const char *k;
    const json_t *child;
    json_object_foreach((json_t *)v, k, child)
    {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, member_cmp);
    for (i = 0; i < n; i++) {
        json_t *c = canonical(json_object_get(v, keys[i]));
        if (!c || json_object_set_new(out, keys[i], c) != 0)
            goto fail;
    }
    free(keys);
    return out;
fail:
    free(keys);
    json_decref(out);
    return NULL;
}

char *fs_schema_dump(const json_t *schema)
{
    if (!schema)
        return NULL;
    json_t *c = canonical(schema);
    char *body = c ? json_dumps(c, JSON_INDENT(2)) : NULL;
    char *out = NULL;
    json_decref(c);
    if (body && asprintf(&out, "%s\n", body) < 0)
        out = NULL;
    free(body);
    return out;
}

/* ---- keys_match ---- */

struct typed_key {
    struct key_pair names;
    const char *hash_type, *range_type; /* borrowed; NULL when not defined */
};

static int read_typed_key(const json_t *doc, const char *which, struct typed_key *tk, char *errbuf,
                          size_t errlen)
{
    char what[64];
    snprintf(what, sizeof what, "%s schema", which);
    if (read_key_schema(json_object_get(doc, "KeySchema"), what, &tk->names, errbuf, errlen) != 0)
        return -1;
    const json_t *defs = json_object_get(doc, "AttributeDefinitions");
    tk->hash_type = attr_type(defs, tk->names.hash);
    tk->range_type = tk->names.range ? attr_type(defs, tk->names.range) : NULL;
    const char *missing = !valid_attr_type(tk->hash_type)                       ? tk->names.hash
                          : tk->names.range && !valid_attr_type(tk->range_type) ? tk->names.range
                                                                                : NULL;
    if (missing) {
        fail(errbuf, errlen, "%s: key %s has no AttributeType S, N or B", what, missing);
        return -1;
    }
    return 0;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* "name (T)" or "none". */
static void describe_key(char *buf, size_t len, const char *name, const char *type)
{
    if (name)
        snprintf(buf, len, "%s (%s)", name, type);
    else
        snprintf(buf, len, "none");
}

int fs_schema_keys_match(const json_t *a, const json_t *b, char *errbuf, size_t errlen)
{
    struct typed_key ka, kb;
    if (read_typed_key(a, "first", &ka, errbuf, errlen) != 0 ||
        read_typed_key(b, "second", &kb, errbuf, errlen) != 0)
        return 0;
    int hash_same = same(ka.names.hash, kb.names.hash) && same(ka.hash_type, kb.hash_type);
    int range_same = same(ka.names.range, kb.names.range) && same(ka.range_type, kb.range_type);
    if (hash_same && range_same)
        return 1;

    char hash_msg[640] = "", range_msg[640] = "", x[300], y[300];
    if (!hash_same) {
        describe_key(x, sizeof x, ka.names.hash, ka.hash_type);
        describe_key(y, sizeof y, kb.names.hash, kb.hash_type);
        snprintf(hash_msg, sizeof hash_msg, "hash key: %s vs %s", x, y);
    }
    if (!range_same) {
        describe_key(x, sizeof x, ka.names.range, ka.range_type);
        describe_key(y, sizeof y, kb.names.range, kb.range_type);
        snprintf(range_msg, sizeof range_msg, "range key: %s vs %s", x, y);
    }
    fail(errbuf, errlen, "%s%s%s", hash_msg, *hash_msg && *range_msg ? "; " : "", range_msg);
    return 0;
}
