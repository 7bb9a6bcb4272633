#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ddb/error.h"

static void from_body(struct ddb_error *e, long status, const char *body)
{
    ddb_error_clear(e);
    ddb_error_from_response(e, status, body, body ? strlen(body) : 0, "REQ-1");
}

Test(error, strerror_names_every_code_and_never_returns_null)
{
    for (int c = DDB_OK; c <= DDB_ELOCAL; c++) {
        const char *s = ddb_strerror((enum ddb_err)c);
        cr_assert_not_null(s);
        cr_assert_gt(strlen(s), 0);
    }
    cr_assert_not_null(ddb_strerror((enum ddb_err)999));
}

Test(error, clear_and_set_accept_null)
{
    ddb_error_clear(NULL);
    ddb_error_set(NULL, DDB_EINVAL, "x %d", 1);
    ddb_error_from_response(NULL, 400, "{}", 2, NULL);
}

Test(error, clear_resets_every_field)
{
    struct ddb_error e;
    memset(&e, 0x5a, sizeof(e));
    ddb_error_clear(&e);
    cr_assert_eq(e.code, DDB_OK);
    cr_assert_eq(e.http_status, 0);
    cr_assert_eq(e.attempts, 0);
    cr_assert_str_empty(e.type);
    cr_assert_str_empty(e.message);
    cr_assert_str_empty(e.request_id);
}

Test(error, set_formats_the_message_and_the_code)
{
    struct ddb_error e;
    ddb_error_clear(&e);
    ddb_error_set(&e, DDB_ECONFIG, "bad region %s (%d)", "mars-1", 7);
    cr_assert_eq(e.code, DDB_ECONFIG);
    cr_assert_str_eq(e.message, "bad region mars-1 (7)");
}

Test(error, set_truncates_a_long_message_within_the_buffer)
{
    struct ddb_error e;
    char big[4 * DDB_ERRMSG_MAX];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ddb_error_clear(&e);
    ddb_error_set(&e, DDB_EOTHER, "%s", big);
    cr_assert_eq(strlen(e.message), DDB_ERRMSG_MAX - 1);
}

struct type_case {
    const char *type;
    long status;
    enum ddb_err code;
};

Test(error, aws_types_map_to_their_codes_with_or_without_namespace)
{
    static const struct type_case cases[] = {
        {"ProvisionedThroughputExceededException", 400, DDB_ETHROTTLED},
        {"ThrottlingException", 400, DDB_ETHROTTLED},
        {"RequestLimitExceeded", 400, DDB_ETHROTTLED},
        {"ValidationException", 400, DDB_EVALIDATION},
        {"SerializationException", 400, DDB_EVALIDATION},
        {"ResourceNotFoundException", 400, DDB_ENOTFOUND},
        {"ResourceInUseException", 400, DDB_EINUSE},
        {"AccessDeniedException", 400, DDB_EACCESS},
        {"UnrecognizedClientException", 400, DDB_EACCESS},
        {"InvalidSignatureException", 400, DDB_EACCESS},
        {"IncompleteSignatureException", 400, DDB_EACCESS},
        {"MissingAuthenticationTokenException", 400, DDB_EACCESS},
        {"ExpiredTokenException", 400, DDB_EACCESS},
        {"InvalidClientTokenId", 403, DDB_EACCESS},
        {"LimitExceededException", 400, DDB_ELIMIT},
        {"ItemCollectionSizeLimitExceededException", 400, DDB_ELIMIT},
        {"InternalServerError", 500, DDB_ESERVER},
        {"ServiceUnavailable", 503, DDB_ESERVER},
        {"ConditionalCheckFailedException", 400, DDB_EOTHER},
        {"UnknownOperationException", 400, DDB_EOTHER},
        {"SomethingNew", 502, DDB_ESERVER},
        {"SomethingNew", 400, DDB_EOTHER},
        {"", 500, DDB_ESERVER},
        {"", 400, DDB_EOTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ns[256];
        snprintf(ns, sizeof(ns), "com.amazonaws.dynamodb.v20120810#%s", cases[i].type);
        cr_expect_eq(ddb_error_from_aws_type(cases[i].type, cases[i].status), cases[i].code,
                     "%s -> %s", cases[i].type, ddb_strerror(cases[i].code));
        cr_expect_eq(ddb_error_from_aws_type(ns, cases[i].status), cases[i].code, "%s", ns);
    }
}

Test(error, null_type_maps_by_status_only)
{
    cr_assert_eq(ddb_error_from_aws_type(NULL, 500), DDB_ESERVER);
    cr_assert_eq(ddb_error_from_aws_type(NULL, 503), DDB_ESERVER);
    cr_assert_eq(ddb_error_from_aws_type(NULL, 413), DDB_ELIMIT);
    cr_assert_eq(ddb_error_from_aws_type(NULL, 400), DDB_EOTHER);
}

Test(error, a_known_type_wins_over_a_5xx_status)
{
    cr_assert_eq(ddb_error_from_aws_type("ThrottlingException", 503), DDB_ETHROTTLED);
}

Test(error, a_header_style_type_with_detail_after_a_colon_is_stripped)
{
    cr_assert_eq(ddb_error_from_aws_type("ValidationException:http://internal.amazon.com/coral/"
                                         "com.amazon.coral.validate/",
                                         400),
                 DDB_EVALIDATION);
}

Test(error, dynalite_validation_body_fills_type_message_status_and_request_id)
{
    struct ddb_error e;
    from_body(&e, 400,
              "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":\"One or "
              "more parameter values were invalid: Missing the key sk in the item\"}");
    cr_assert_eq(e.code, DDB_EVALIDATION);
    cr_assert_eq(e.http_status, 400);
    cr_assert_str_eq(e.type, "ValidationException");
    cr_assert_str_eq(e.message,
                     "One or more parameter values were invalid: Missing the key sk in the item");
    cr_assert_str_eq(e.request_id, "REQ-1");
}

Test(error, dynalite_serialization_body_with_capital_message_is_read)
{
    struct ddb_error e;
    from_body(
        &e, 400,
        "{\"__type\":\"com.amazon.coral.service#SerializationException\",\"Message\":\"Base64 "
        "encoded length is expected a multiple of 4 bytes but found: 3\"}");
    cr_assert_eq(e.code, DDB_EVALIDATION);
    cr_assert_str_eq(e.type, "SerializationException");
    cr_assert_str_eq(e.message,
                     "Base64 encoded length is expected a multiple of 4 bytes but found: 3");
}

Test(error, dynalite_auth_and_not_found_bodies_map_to_access_and_not_found)
{
    struct ddb_error e;
    from_body(&e, 400,
              "{\"__type\":\"com.amazon.coral.service#MissingAuthenticationTokenException\","
              "\"message\":\"Request is missing Authentication Token\"}");
    cr_assert_eq(e.code, DDB_EACCESS);
    cr_assert_str_eq(e.type, "MissingAuthenticationTokenException");
    cr_assert_str_eq(e.message, "Request is missing Authentication Token");

    from_body(&e, 400,
              "{\"__type\":\"com.amazon.coral.service#IncompleteSignatureException\",\"message\":"
              "\"Authorization header requires 'Signature' parameter.\"}");
    cr_assert_eq(e.code, DDB_EACCESS);

    from_body(&e, 400,
              "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
              "\"message\":\"Requested resource not found\"}");
    cr_assert_eq(e.code, DDB_ENOTFOUND);
    cr_assert_str_eq(e.message, "Requested resource not found");
}

Test(error, dynamodb_throttle_body_maps_to_throttled)
{
    struct ddb_error e;
    from_body(&e, 400,
              "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
              "ProvisionedThroughputExceededException\",\"message\":\"The level of configured "
              "provisioned throughput for the table was exceeded.\"}");
    cr_assert_eq(e.code, DDB_ETHROTTLED);
    cr_assert_str_eq(e.type, "ProvisionedThroughputExceededException");
}

Test(error, a_5xx_json_body_without_a_type_is_a_server_error)
{
    struct ddb_error e;
    from_body(&e, 500, "{\"message\":\"oops\"}");
    cr_assert_eq(e.code, DDB_ESERVER);
    cr_assert_str_empty(e.type);
    cr_assert_str_eq(e.message, "oops");
}

Test(error, a_json_body_without_message_names_the_type_and_status)
{
    struct ddb_error e;
    from_body(&e, 400, "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}");
    cr_assert_eq(e.code, DDB_EOTHER);
    cr_assert_str_eq(e.type, "UnknownOperationException");
    cr_assert_not_null(strstr(e.message, "UnknownOperationException"));
    cr_assert_not_null(strstr(e.message, "400"));
}

Test(error, http_413_with_an_empty_body_is_a_limit_error)
{
    struct ddb_error e;
    from_body(&e, 413, "");
    cr_assert_eq(e.code, DDB_ELIMIT);
    cr_assert_eq(e.http_status, 413);
    cr_assert_str_eq(e.message, "request too large (HTTP 413)");

    from_body(&e, 413, NULL);
    cr_assert_eq(e.code, DDB_ELIMIT);
}

Test(error, an_empty_body_on_another_status_says_so)
{
    struct ddb_error e;
    from_body(&e, 502, "");
    cr_assert_eq(e.code, DDB_ESERVER);
    cr_assert_str_eq(e.message, "HTTP 502 with an empty body");
}

Test(error, a_non_json_body_gives_the_status_and_the_start_of_the_body)
{
    struct ddb_error e;
    from_body(&e, 502, "<html>\r\n<body>Bad\tGateway</body>\n</html>");
    cr_assert_eq(e.code, DDB_ESERVER);
    cr_assert_str_eq(e.message, "HTTP 502: <html> <body>Bad Gateway</body> </html>");
}

Test(error, a_long_non_json_body_is_cut_near_200_printable_characters)
{
    struct ddb_error e;
    char body[5000];
    for (size_t i = 0; i < sizeof(body) - 1; i++)
        body[i] = (char)('a' + i % 26);
    body[sizeof(body) - 1] = '\0';
    body[10] = '\x01';
    body[11] = (char)0xc3;
    from_body(&e, 400, body);
    cr_assert_eq(e.code, DDB_EOTHER);
    cr_assert_eq(strncmp(e.message, "HTTP 400: abcdefghij ?", 22), 0, "%s", e.message);
    cr_assert_lt(strlen(e.message), 220);
    cr_assert_str_eq(e.message + strlen(e.message) - 3, "...");
    for (const char *p = e.message; *p; p++)
        cr_assert(*p >= ' ' && *p < 0x7f);
}

Test(error, a_json_body_that_is_not_an_object_is_shown_as_text)
{
    struct ddb_error e;
    from_body(&e, 500, "[1,2]");
    cr_assert_eq(e.code, DDB_ESERVER);
    cr_assert_str_eq(e.message, "HTTP 500: [1,2]");
}

Test(error, the_body_length_is_honoured_without_a_terminating_nul)
{
    struct ddb_error e;
    const char body[] = "{\"__type\":\"x#ThrottlingException\",\"message\":\"slow\"}GARBAGE";
    ddb_error_clear(&e);
    ddb_error_from_response(&e, 400, body, sizeof(body) - 1 - 7, NULL);
    cr_assert_eq(e.code, DDB_ETHROTTLED);
    cr_assert_str_eq(e.message, "slow");
    cr_assert_str_empty(e.request_id);
}

Test(error, from_response_keeps_the_attempt_count)
{
    struct ddb_error e;
    ddb_error_clear(&e);
    e.attempts = 4;
    ddb_error_from_response(&e, 500, "", 0, NULL);
    cr_assert_eq(e.attempts, 4);
}

Test(error, an_overlong_type_or_message_is_truncated_safely)
{
    struct ddb_error e;
    char body[8000];
    char longtype[600], longmsg[3000];
    memset(longtype, 'T', sizeof(longtype) - 1);
    longtype[sizeof(longtype) - 1] = '\0';
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    snprintf(body, sizeof(body), "{\"__type\":\"ns#%s\",\"message\":\"%s\"}", longtype, longmsg);
    from_body(&e, 400, body);
    cr_assert_eq(strlen(e.type), sizeof(e.type) - 1);
    cr_assert_eq(strlen(e.message), sizeof(e.message) - 1);
    cr_assert_eq(e.code, DDB_EOTHER);
}

/* Found by fuzz_error_response: a "\n" escape in the server's __type or message reached the log. */
Test(error, a_newline_in_the_servers_type_or_message_never_splits_the_message)
{
    struct ddb_error e;
    from_body(&e, 403, "{\"__type\":\"com.amazon#Un\\nknown\"}");
    cr_assert(strchr(e.message, '\n') == NULL, "%s", e.message);
    cr_assert(strchr(e.type, '\n') == NULL, "%s", e.type);
    from_body(&e, 400, "{\"__type\":\"ValidationException\",\"message\":\"line one\\nline two\\r\"}");
    cr_assert(strchr(e.message, '\n') == NULL && strchr(e.message, '\r') == NULL, "%s", e.message);
    cr_assert(strstr(e.message, "line one line two") != NULL, "%s", e.message);
}
