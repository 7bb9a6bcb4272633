#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "ddb/creds_source.h"

/* The STS AssumeRoleWithWebIdentity answer, parsed without any network. */

static struct ddb_credentials c;
static struct ddb_error err;

static void setup(void)
{
    memset(&c, 0, sizeof c);
    memset(&err, 0, sizeof err);
}

static void teardown(void)
{
    ddb_credentials_cleanup(&c);
}

TestSuite(creds_web_identity, .init = setup, .fini = teardown);

#define OK_ANSWER(creds)                                                                           \
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"      \
    "<AssumeRoleWithWebIdentityResult><AssumedRoleUser><Arn>a</Arn></AssumedRoleUser>"             \
    "<Credentials>" creds "</Credentials></AssumeRoleWithWebIdentityResult>"                       \
    "</AssumeRoleWithWebIdentityResponse>"

static enum load_result parse(const char *xml, long status)
{
    return ddb_creds_sts_parse(xml, strlen(xml), status, "https://sts.example/", &c, &err);
}

Test(creds_web_identity, reads_the_credentials_in_any_order)
{
    cr_assert_eq(parse(OK_ANSWER("<Expiration>2030-01-02T03:04:05Z</Expiration>"
                                 "<SessionToken>tok&amp;en</SessionToken>"
                                 "<SecretAccessKey>s&#x2F;e&#99;ret</SecretAccessKey>"
                                 "<AccessKeyId>ASIAX</AccessKeyId>"),
                       200),
                 LOAD_OK, "%s", err.message);
    cr_assert_str_eq(c.access_key_id, "ASIAX");
    cr_assert_str_eq(c.secret_access_key, "s/ecret");
    cr_assert_str_eq(c.session_token, "tok&en");
    struct tm tm = {
        .tm_year = 130, .tm_mon = 0, .tm_mday = 2, .tm_hour = 3, .tm_min = 4, .tm_sec = 5};
    cr_assert_eq(c.expiration, timegm(&tm));
}

Test(creds_web_identity, refuses_malformed_entities_and_missing_fields)
{
    cr_assert_eq(parse(OK_ANSWER("<AccessKeyId>A</AccessKeyId><SecretAccessKey>s&bogus;"
                                 "</SecretAccessKey>"),
                       200),
                 LOAD_ERROR);
    cr_assert(strstr(err.message, "a malformed SecretAccessKey") != NULL, "%s", err.message);
    cr_assert_eq(parse(OK_ANSWER("<AccessKeyId>A</AccessKeyId><SecretAccessKey>s&#0;"
                                 "</SecretAccessKey>"),
                       200),
                 LOAD_ERROR);
    cr_assert_eq(parse(OK_ANSWER("<AccessKeyId>A</AccessKeyId>"), 200), LOAD_ERROR);
    cr_assert(strstr(err.message, "no SecretAccessKey") != NULL, "%s", err.message);
    cr_assert_eq(parse(OK_ANSWER("<AccessKeyId>A</AccessKeyId><SecretAccessKey>s"
                                 "</SecretAccessKey><Expiration>soon</Expiration>"),
                       200),
                 LOAD_ERROR);
    cr_assert(strstr(err.message, "Expiration that is not an ISO 8601 time") != NULL, "%s",
              err.message);
    cr_assert_eq(parse("<html>hello</html>", 200), LOAD_ERROR);
    cr_assert(strstr(err.message, "without <Credentials>") != NULL, "%s", err.message);
}

Test(creds_web_identity, reports_an_error_answer_with_its_code_and_message)
{
    cr_assert_eq(parse("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                       "<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity &amp; "
                       "more</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                       403),
                 LOAD_ERROR);
    cr_assert_str_eq(err.message,
                     "web identity: STS AssumeRoleWithWebIdentity at https://sts.example/ "
                     "answered HTTP 403 AccessDenied: Not authorized to perform "
                     "sts:AssumeRoleWithWebIdentity & more; check that the role's trust policy "
                     "allows this identity provider and subject");
    cr_assert_eq(parse("Service Unavailable", 503), LOAD_ERROR);
    cr_assert(strstr(err.message, "answered HTTP 503 without an AWS error") != NULL, "%s",
              err.message);
}
