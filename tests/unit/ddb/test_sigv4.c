/* The signer against the official SigV4 suite (tests/data/sigv4/<case>/, one case per folder,
 * copied from awslabs/aws-c-auth) and a DynamoDB-shaped vector computed with botocore. Each case
 * folder holds context.json (credentials, region, service, time, normalize), request.txt (the
 * HTTP request) and the expected header-canonical-request.txt, header-string-to-sign.txt and
 * header-signature.txt. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddb/sigv4.h"

#define CASE_DIR DDBFS_TEST_DATA "/sigv4/"
#define MAX_HEADERS 16

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One parsed case. Every string is owned by the struct, or borrowed from request_text or
 * context, and freed by case_free(). */
struct suite_case {
    const char *name;
    char *request_text;
    size_t request_len;
    char *method, *path, *query;
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    struct ddb_header headers[MAX_HEADERS];
    size_t nheaders;
    char content_sha256[65];
    struct ddb_sigv4_request req;
    json_t *context;
    struct ddb_sigv4_params params;
};

static char *read_file(const char *name, const char *file, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, CASE_DIR "%s/%s", name, file);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: cannot open %s", name, path);
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap + 1);
            cr_assert_not_null(data);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    cr_assert(!ferror(f), "%s: cannot read %s", name, path);
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

/* An expected-result file, without the newline an editor may have added at the end. */
static char *read_expected(const char *name, const char *file)
{
    size_t n;
    char *s = read_file(name, file, &n);
    if (n > 0 && s[n - 1] == '\n')
        s[--n] = '\0';
    if (n > 0 && s[n - 1] == '\r')
        s[--n] = '\0';
    return s;
}

static char *dup_range(const char *p, size_t n)
{
    char *s = strndup(p, n);
    cr_assert_not_null(s);
    return s;
}

/* Parses request.txt: the request line ("METHOD target HTTP/1.1", the target may hold spaces),
 * headers up to a blank line (a line starting with a space or tab continues the header before
 * it: the line break becomes one space, as RFC 7230's obs-fold allows), then the body as is. */
static void parse_request(struct suite_case *c)
{
    char *p = c->request_text, *end = c->request_text + c->request_len;
    int first = 1;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        char *next = nl ? nl + 1 : end;

        if (first) {
            char *sp1 = memchr(p, ' ', n), *sp2 = p + n;
            while (sp2 > p && sp2[-1] != ' ')
                sp2--;
            cr_assert(sp1 && sp2 - 1 > sp1, "%s: bad request line", c->name);
            c->method = dup_range(p, (size_t)(sp1 - p));
            char *target = sp1 + 1;
            size_t tlen = (size_t)(sp2 - 1 - target);
            char *q = memchr(target, '?', tlen);
            c->path = dup_range(target, q ? (size_t)(q - target) : tlen);
            if (q)
                c->query = dup_range(q + 1, tlen - (size_t)(q + 1 - target));
            first = 0;
        } else if (n == 0) {
            p = next;
            break;
        } else if (p[0] == ' ' || p[0] == '\t') {
            cr_assert(c->nheaders > 0, "%s: continuation without a header", c->name);
            char **v = &c->values[c->nheaders - 1];
            size_t vlen = strlen(*v);
            char *joined = malloc(vlen + 1 + n + 1);
            cr_assert_not_null(joined);
            memcpy(joined, *v, vlen);
            joined[vlen] = ' ';
            memcpy(joined + vlen + 1, p, n);
            joined[vlen + 1 + n] = '\0';
            free(*v);
            *v = joined;
        } else {
            char *colon = memchr(p, ':', n);
            cr_assert(colon, "%s: header line without ':'", c->name);
            cr_assert(c->nheaders < MAX_HEADERS, "%s: too many headers", c->name);
            c->names[c->nheaders] = dup_range(p, (size_t)(colon - p));
            c->values[c->nheaders] = dup_range(colon + 1, (size_t)(p + n - colon - 1));
            c->nheaders++;
        }
        p = next;
    }
    cr_assert(!first, "%s: empty request", c->name);
    c->req.body = p;
    c->req.body_len = (size_t)(end - p);
}

static time_t parse_timestamp(const char *name, const char *s)
{
    struct tm tm = {0};
    char z = 0;
    int got = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z);
    cr_assert(got == 7 && z == 'Z', "%s: bad timestamp %s", name, s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void parse_context(struct suite_case *c)
{
    char *text = read_file(c->name, "context.json", NULL);
    json_error_t err;
    c->context = json_loads(text, 0, &err);
    free(text);
    cr_assert_not_null(c->context, "%s: context.json: %s", c->name, err.text);

    json_t *creds = json_object_get(c->context, "credentials");
    struct ddb_sigv4_params *p = &c->params;
    p->access_key_id = json_string_value(json_object_get(creds, "access_key_id"));
    p->secret_access_key = json_string_value(json_object_get(creds, "secret_access_key"));
    p->session_token = json_string_value(json_object_get(creds, "token"));
    p->region = json_string_value(json_object_get(c->context, "region"));
    p->service = json_string_value(json_object_get(c->context, "service"));
    p->normalize_path = json_is_true(json_object_get(c->context, "normalize"));
    p->omit_session_token = json_is_true(json_object_get(c->context, "omit_session_token"));
    const char *ts = json_string_value(json_object_get(c->context, "timestamp"));
    cr_assert(p->access_key_id && p->secret_access_key && p->region && p->service && ts,
              "%s: context.json lacks a field", c->name);
    p->now = parse_timestamp(c->name, ts);
}

static void case_load(struct suite_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->request_text = read_file(name, "request.txt", &c->request_len);
    parse_request(c);
    parse_context(c);

    /* sign_body: the suite's signer adds X-Amz-Content-Sha256 (S3's header) itself. Ours leaves
     * that header to the caller (DynamoDB does not use it), so the caller's part is played here. */
    if (json_is_true(json_object_get(c->context, "sign_body"))) {
        cr_assert(c->nheaders < MAX_HEADERS);
        ddb_sigv4_sha256_hex(c->req.body, c->req.body_len, c->content_sha256);
        c->names[c->nheaders] = dup_range("X-Amz-Content-Sha256", strlen("X-Amz-Content-Sha256"));
        c->values[c->nheaders] = dup_range(c->content_sha256, strlen(c->content_sha256));
        c->nheaders++;
    }

    for (size_t i = 0; i < c->nheaders; i++)
        c->headers[i] = (struct ddb_header){c->names[i], c->values[i]};
    c->req.method = c->method;
    c->req.path = c->path;
    c->req.query = c->query;
    c->req.headers = c->headers;
    c->req.nheaders = c->nheaders;
}

static void case_free(struct suite_case *c)
{
    for (size_t i = 0; i < c->nheaders; i++) {
        free(c->names[i]);
        free(c->values[i]);
    }
    free(c->method);
    free(c->path);
    free(c->query);
    free(c->request_text);
    json_decref(c->context);
}

/* The line before the last of the canonical request: the signed header list. */
static char *signed_headers_of(const char *canonical)
{
    const char *last = strrchr(canonical, '\n');
    cr_assert_not_null(last);
    const char *start = last;
    while (start > canonical && start[-1] != '\n')
        start--;
    return dup_range(start, (size_t)(last - start));
}

/* Signs the case and checks every intermediate result and the Authorization value. */
static void check_case(const char *name)
{
    struct suite_case c;
    struct ddb_sigv4_result r;
    char *want_cr, *want_sts, *want_sig, *want_sh, want_auth[1024], want_date[17];

    case_load(&c, name);
    ddb_sigv4_result_init(&r);
    want_cr = read_expected(name, "header-canonical-request.txt");
    want_sts = read_expected(name, "header-string-to-sign.txt");
    want_sig = read_expected(name, "header-signature.txt");
    want_sh = signed_headers_of(want_cr);
    cr_assert_eq(sscanf(want_sts, "AWS4-HMAC-SHA256\n%16s", want_date), 1);
    snprintf(want_auth, sizeof want_auth,
             "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
             "Signature=%s",
             c.params.access_key_id, want_date, c.params.region, c.params.service, want_sh,
             want_sig);

    cr_assert_eq(ddb_sigv4_sign(&c.req, &c.params, &r), 0, "%s: signing failed", name);
    cr_expect_str_eq(buf_str(&r.canonical_request), want_cr, "%s: canonical request", name);
    cr_expect_str_eq(buf_str(&r.string_to_sign), want_sts, "%s: string to sign", name);
    cr_expect_str_eq(r.signature, want_sig, "%s: signature", name);
    cr_expect_str_eq(r.amz_date, want_date, "%s: X-Amz-Date", name);
    cr_expect_str_eq(buf_str(&r.signed_headers), want_sh, "%s: signed headers", name);
    cr_expect_str_eq(buf_str(&r.authorization), want_auth, "%s: Authorization", name);

    free(want_cr);
    free(want_sts);
    free(want_sig);
    free(want_sh);
    ddb_sigv4_result_cleanup(&r);
    case_free(&c);
}

/* The official suite: vanilla requests. */

Test(sigv4, signs_get_vanilla_as_the_suite_does)
{
    check_case("get-vanilla");
}

Test(sigv4, signs_post_vanilla_as_the_suite_does)
{
    check_case("post-vanilla");
}

Test(sigv4, signs_get_vanilla_query_as_the_suite_does)
{
    check_case("get-vanilla-query");
}

Test(sigv4, signs_post_vanilla_query_as_the_suite_does)
{
    check_case("post-vanilla-query");
}

Test(sigv4, signs_post_vanilla_empty_query_value_as_the_suite_does)
{
    check_case("post-vanilla-empty-query-value");
}

Test(sigv4, signs_get_vanilla_empty_query_key_as_the_suite_does)
{
    check_case("get-vanilla-empty-query-key");
}

/* Headers. */

Test(sigv4, lowercases_header_names)
{
    check_case("post-header-key-case");
}

Test(sigv4, sorts_headers_by_lowercased_name)
{
    check_case("post-header-key-sort");
}

Test(sigv4, keeps_the_case_of_header_values)
{
    check_case("post-header-value-case");
}

Test(sigv4, joins_repeated_headers_with_commas_in_request_order)
{
    check_case("get-header-key-duplicate");
}

Test(sigv4, keeps_the_order_of_repeated_header_values)
{
    check_case("get-header-value-order");
}

Test(sigv4, folds_a_multiline_header_value_to_single_spaces)
{
    check_case("get-header-value-multiline");
}

Test(sigv4, trims_header_values_and_folds_inner_spaces)
{
    check_case("get-header-value-trim");
}

/* Session tokens. */

Test(sigv4, signs_the_session_token_as_x_amz_security_token)
{
    check_case("get-vanilla-with-session-token");
}

Test(sigv4, signs_an_sts_token_before_the_signature)
{
    check_case("post-sts-header-before");
}

Test(sigv4, leaves_the_token_unsigned_when_told_to_omit_it)
{
    check_case("post-sts-header-after");
}

/* Paths. */

Test(sigv4, percent_encodes_the_utf8_bytes_of_the_path)
{
    check_case("get-utf8");
}

Test(sigv4, leaves_unreserved_characters_in_the_path_alone)
{
    check_case("get-unreserved");
}

Test(sigv4, encodes_a_space_in_a_normalized_path)
{
    check_case("get-space-normalized");
}

Test(sigv4, encodes_a_space_in_an_unnormalized_path)
{
    check_case("get-space-unnormalized");
}

Test(sigv4, resolves_dot_dot_when_normalizing)
{
    check_case("get-relative-normalized");
}

Test(sigv4, keeps_dot_dot_when_not_normalizing)
{
    check_case("get-relative-unnormalized");
}

Test(sigv4, resolves_repeated_dot_dot_when_normalizing)
{
    check_case("get-relative-relative-normalized");
}

Test(sigv4, keeps_repeated_dot_dot_when_not_normalizing)
{
    check_case("get-relative-relative-unnormalized");
}

Test(sigv4, drops_a_dot_segment_when_normalizing)
{
    check_case("get-slash-dot-slash-normalized");
}

Test(sigv4, keeps_a_dot_segment_when_not_normalizing)
{
    check_case("get-slash-dot-slash-unnormalized");
}

Test(sigv4, drops_a_dot_segment_before_a_name_when_normalizing)
{
    check_case("get-slash-pointless-dot-normalized");
}

Test(sigv4, keeps_a_dot_segment_before_a_name_when_not_normalizing)
{
    check_case("get-slash-pointless-dot-unnormalized");
}

Test(sigv4, collapses_a_double_slash_when_normalizing)
{
    check_case("get-slash-normalized");
}

Test(sigv4, keeps_a_double_slash_when_not_normalizing)
{
    check_case("get-slash-unnormalized");
}

Test(sigv4, collapses_slashes_and_keeps_the_trailing_one_when_normalizing)
{
    check_case("get-slashes-normalized");
}

Test(sigv4, keeps_repeated_slashes_when_not_normalizing)
{
    check_case("get-slashes-unnormalized");
}

/* Queries. */

Test(sigv4, sorts_query_parameters_by_name)
{
    check_case("get-vanilla-query-order-key-case");
}

Test(sigv4, sorts_query_parameters_by_their_encoded_names)
{
    check_case("get-vanilla-query-order-encoded");
}

Test(sigv4, leaves_unreserved_characters_in_the_query_alone)
{
    check_case("get-vanilla-query-unreserved");
}

Test(sigv4, percent_encodes_the_utf8_bytes_of_the_query)
{
    check_case("get-vanilla-utf8-query");
}

/* Bodies: the caller supplies X-Amz-Content-Sha256 (see case_load). */

Test(sigv4, signs_a_form_body_and_its_content_sha256_header)
{
    check_case("post-x-www-form-urlencoded");
}

Test(sigv4, signs_a_content_type_with_parameters_verbatim)
{
    check_case("post-x-www-form-urlencoded-parameters");
}

/* DynamoDB. */

Test(sigv4, signs_a_dynamodb_list_tables_call_as_botocore_does)
{
    check_case("dynamodb-list-tables");
}

/* The contract beyond the suite. */

static const struct ddb_header vanilla_headers[] = {{"Host", "example.amazonaws.com"}};

static struct ddb_sigv4_request vanilla_request(void)
{
    return (struct ddb_sigv4_request){
        .method = "GET",
        .path = "/",
        .headers = vanilla_headers,
        .nheaders = 1,
    };
}

static struct ddb_sigv4_params suite_params(void)
{
    return (struct ddb_sigv4_params){
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = SECRET,
        .region = "us-east-1",
        .service = "service",
        .now = 1440938160, /* 2015-08-30T12:36:00Z */
        .normalize_path = 1,
    };
}

Test(sigv4, fails_on_a_request_without_host)
{
    const struct ddb_header headers[] = {{"Content-Type", "application/x-amz-json-1.0"}};
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    req.headers = headers;
    req.nheaders = 1;
    ddb_sigv4_result_init(&r);
    cr_expect_eq(ddb_sigv4_sign(&req, &p, &r), -1);
    cr_expect_str_empty(buf_str(&r.authorization));
    cr_expect_str_empty(r.signature);

    req.nheaders = 0;
    cr_expect_eq(ddb_sigv4_sign(&req, &p, &r), -1);
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, refuses_an_x_amz_date_from_the_caller)
{
    const struct ddb_header headers[] = {{"Host", "example.amazonaws.com"},
                                         {"X-Amz-Date", "20150830T123600Z"}};
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    req.headers = headers;
    req.nheaders = 2;
    ddb_sigv4_result_init(&r);
    cr_expect_eq(ddb_sigv4_sign(&req, &p, &r), -1);
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, refuses_headers_that_would_not_be_sent_as_signed)
{
    static const struct ddb_header bad[][2] = {
        {{"Host", "example.amazonaws.com"}, {"My-Header", "a\r\nX-Injected: b"}},
        {{"Host", "example.amazonaws.com"}, {"My-Header", "a\nb"}},
        {{"Host", "example.amazonaws.com"}, {"My:Header", "a"}},
        {{"Host", "example.amazonaws.com"}, {"  ", "a"}},
        {{"Host", "example.amazonaws.com"}, {"My-Header", NULL}},
    };
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    ddb_sigv4_result_init(&r);
    req.nheaders = 2;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req.headers = bad[i];
        cr_expect_eq(ddb_sigv4_sign(&req, &p, &r), -1, "header %zu", i);
    }
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, never_puts_the_session_token_or_secret_in_authorization)
{
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    p.session_token = TOKEN;
    ddb_sigv4_result_init(&r);
    for (int omit = 0; omit <= 1; omit++) {
        p.omit_session_token = omit;
        cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
        cr_expect_null(strstr(buf_str(&r.authorization), TOKEN), "omit=%d", omit);
        cr_expect_null(strstr(buf_str(&r.authorization), SECRET), "omit=%d", omit);
        cr_expect_null(strstr(buf_str(&r.canonical_request), SECRET), "omit=%d", omit);
        cr_expect_null(strstr(buf_str(&r.string_to_sign), SECRET), "omit=%d", omit);
        cr_expect_eq(strstr(buf_str(&r.signed_headers), "x-amz-security-token") != NULL, !omit,
                     "omit=%d", omit);
    }
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, signs_a_token_the_caller_already_carries_once)
{
    const struct ddb_header headers[] = {{"Host", "example.amazonaws.com"},
                                         {"X-Amz-Security-Token", TOKEN}};
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    req.headers = headers;
    req.nheaders = 2;
    p.session_token = TOKEN;
    ddb_sigv4_result_init(&r);
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    cr_expect_str_eq(buf_str(&r.signed_headers), "host;x-amz-date;x-amz-security-token");
    /* The same signature as the suite's get-vanilla-with-session-token. */
    cr_expect_str_eq(r.signature,
                     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, finds_host_whatever_the_case_and_padding_of_its_name)
{
    const struct ddb_header headers[] = {{" hOsT ", "  example.amazonaws.com "}};
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    req.headers = headers;
    ddb_sigv4_result_init(&r);
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    /* get-vanilla's signature. */
    cr_expect_str_eq(r.signature,
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, gives_the_same_result_when_a_result_is_reused)
{
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;
    char first[1024];

    ddb_sigv4_result_init(&r);
    p.session_token = TOKEN;
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    p.session_token = NULL;
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    snprintf(first, sizeof first, "%s", buf_str(&r.authorization));
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    cr_expect_str_eq(buf_str(&r.authorization), first);
    cr_expect_str_eq(r.signature,
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, makes_x_amz_date_from_the_given_time)
{
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    p.now = 0;
    ddb_sigv4_result_init(&r);
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0);
    cr_expect_str_eq(r.amz_date, "19700101T000000Z");
    cr_expect(strstr(buf_str(&r.authorization), "/19700101/us-east-1/service/aws4_request"));
    ddb_sigv4_result_cleanup(&r);
}

Test(sigv4, hashes_bytes_as_sha256_in_lowercase_hex)
{
    char out[65];
    ddb_sigv4_sha256_hex("", 0, out);
    cr_expect_str_eq(out, EMPTY_SHA256);
    ddb_sigv4_sha256_hex(NULL, 0, out);
    cr_expect_str_eq(out, EMPTY_SHA256);
    ddb_sigv4_sha256_hex("{}", 2, out);
    cr_expect_str_eq(out, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

/* The canonical URI line of req signed with p. */
static char *canonical_uri_of(const char *path, int normalize)
{
    struct ddb_sigv4_request req = vanilla_request();
    struct ddb_sigv4_params p = suite_params();
    struct ddb_sigv4_result r;

    req.path = path;
    p.normalize_path = normalize;
    ddb_sigv4_result_init(&r);
    cr_assert_eq(ddb_sigv4_sign(&req, &p, &r), 0, "path %s", path);
    const char *line = strchr(buf_str(&r.canonical_request), '\n') + 1;
    char *uri = dup_range(line, strcspn(line, "\n"));
    ddb_sigv4_result_cleanup(&r);
    return uri;
}

Test(sigv4, normalizes_paths_as_botocore_does)
{
    static const char *const cases[][2] = {
        {"/a/b/..", "/a"},
        {"/a/b/../", "/a/"},
        {"/a/./b/", "/a/b/"},
        {"/../a", "/a"},
        {"/a//b//", "/a/b/"},
        {"", "/"},
        {"/a b/\xc3\xbc", "/a%20b/%C3%BC"},
        {"/a%2Fb", "/a%252Fb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = canonical_uri_of(cases[i][0], 1);
        cr_expect_str_eq(uri, cases[i][1], "path \"%s\"", cases[i][0]);
        free(uri);
    }
}

Test(sigv4, encodes_but_keeps_the_shape_of_an_unnormalized_path)
{
    static const char *const cases[][2] = {
        {"/a/b/..", "/a/b/.."},   {"//a//", "//a//"}, {"", "/"}, {"a", "/a"},
        {"/a+b=c", "/a%2Bb%3Dc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = canonical_uri_of(cases[i][0], 0);
        cr_expect_str_eq(uri, cases[i][1], "path \"%s\"", cases[i][0]);
        free(uri);
    }
}
