/* The remote credential sources (instance metadata, container, web identity through STS) against
 * tests/harness/fake-aws-metadata.py, run by tests/harness/with-fake-aws: DDBFS_FAKE_AWS_URL is
 * the server, DDBFS_FAKE_AWS_DIR holds its scenario.json (written here) and log.jsonl (read here).
 *
 * The environment the provider sees is injected (fake_env): the process's and ~/.aws are never
 * read. Only 127.0.0.1 is contacted. The tests share one server and its log: run them with -j1
 * (as CMake does). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "ddb/config.h"
#include "ddb/creds.h"
#include "fake_env.h"

static struct fake_env env;
static char home[64], config_path[128], token_path[128];
static char url[128], sts_url[160], container_url[160];
static const char *dir;
static struct ddb_config cfg;
static struct ddb_error err;
static struct ddb_creds_provider *prov;
static struct ddb_credentials creds;

static void assert_no_secret(const char *text)
{
    cr_assert_null(strstr(text, "FAKESECRET"), "a message holds a secret key: %s", text);
    cr_assert_null(strstr(text, "FAKETOKEN"), "a message holds a session token: %s", text);
    cr_assert_null(strstr(text, "FAKEIMDSTOKEN"), "a message holds the IMDS token: %s", text);
    cr_assert_null(strstr(text, "web-identity-jwt"), "a message holds the web identity token");
    cr_assert_null(strstr(text, "container-auth"), "a message holds the container token");
}

static void write_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fake_env_write_file(tmp, text);
    cr_assert_eq(rename(tmp, path), 0);
}

static void scenario(const char *json)
{
    char path[300];
    snprintf(path, sizeof path, "%s/scenario.json", dir);
    write_file(path, json);
}

/* The server's log (a new string): every request since the test began. */
static char *server_log(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 1 << 20);
    if (f) {
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void setup(void)
{
    memset(&env, 0, sizeof env);
    memset(&cfg, 0, sizeof cfg);
    memset(&err, 0, sizeof err);
    memset(&creds, 0, sizeof creds);
    prov = NULL;
    const char *u = getenv("DDBFS_FAKE_AWS_URL");
    dir = getenv("DDBFS_FAKE_AWS_DIR");
    cr_assert(u && dir, "run through tests/harness/with-fake-aws");
    snprintf(url, sizeof url, "%s", u);
    snprintf(sts_url, sizeof sts_url, "%s/sts", u);
    snprintf(container_url, sizeof container_url, "%s/container/v2/creds", u);
    char path[300];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    unlink(path);
    scenario("{}");
    snprintf(home, sizeof home, "/tmp/ddbfs-rcreds-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
    snprintf(path, sizeof path, "%s/.aws", home);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(config_path, sizeof config_path, "%s/.aws/config", home);
    snprintf(token_path, sizeof token_path, "%s/token", home);
    fake_env_set(&env, "HOME", home);
    fake_env_set(&env, "AWS_REGION", "us-east-1");
    fake_env_set(&env, "AWS_EC2_METADATA_DISABLED", "true"); /* unless a test turns it on */
}

static void teardown(void)
{
    ddb_credentials_cleanup(&creds);
    ddb_creds_provider_free(prov);
    ddb_config_cleanup(&cfg);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(imds, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(container, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(web_identity, .init = setup, .fini = teardown, .timeout = 60);

static void load_config(const char *profile)
{
    struct ddb_config_opts opts = {.profile = profile, .getenv = fake_env_get, .getenv_ud = &env};
    cr_assert_eq(ddb_config_load(&opts, &cfg, &err), 0, "config: %s", err.message);
}

static void provider_ok(const char *source)
{
    load_config(NULL);
    prov = ddb_creds_provider_new(&cfg, &err);
    assert_no_secret(err.message);
    cr_assert_not_null(prov, "provider: %s", err.message);
    cr_assert_str_eq(ddb_creds_source(prov), source);
    cr_assert_eq(ddb_creds_get(prov, time(NULL), &creds, &err), 0, "%s", err.message);
}

static void provider_fails(void)
{
    load_config(NULL);
    prov = ddb_creds_provider_new(&cfg, &err);
    cr_assert_null(prov, "a provider was made from %s", prov ? ddb_creds_source(prov) : "");
    cr_assert_eq(err.code, DDB_ECREDENTIALS);
    assert_no_secret(err.message);
}

#define assert_has(text, needle)                                                                   \
    cr_assert(strstr((text), (needle)) != NULL, "no \"%s\" in: %s", (needle), (text))

static void use_imds(void)
{
    fake_env_set(&env, "AWS_EC2_METADATA_DISABLED", "false");
    fake_env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", url);
}

/* ---- instance metadata ---- */

Test(imds, takes_a_token_then_the_role_then_its_credentials)
{
    use_imds();
    provider_ok("instance metadata");
    cr_assert(strncmp(creds.access_key_id, "ASIAFAKEIMDS", 12) == 0, "%s", creds.access_key_id);
    cr_assert(creds.secret_access_key &&
              strncmp(creds.secret_access_key, "FAKESECRETIMDS", 14) == 0);
    cr_assert(creds.session_token && strncmp(creds.session_token, "FAKETOKENIMDS", 13) == 0);
    cr_assert_gt(creds.expiration, time(NULL) + 3600);
    char *log = server_log();
    assert_has(log, "\"method\": \"PUT\", \"path\": \"/latest/api/token\"");
    assert_has(log, "\"x-aws-ec2-metadata-token-ttl-seconds\": \"21600\"");
    assert_has(log, "\"path\": \"/latest/meta-data/iam/security-credentials/\"");
    assert_has(log, "\"path\": \"/latest/meta-data/iam/security-credentials/ddbfs-role\"");
    cr_assert_eq(count(log, "\"x-aws-ec2-metadata-token\": \"FAKEIMDSTOKEN"), 2, "%s", log);
    cr_assert_eq(count(log, "\"status\": 200"), 3, "%s", log);
    free(log);
}

Test(imds, falls_back_to_imdsv1_when_the_token_is_refused)
{
    use_imds();
    scenario("{\"imds\": {\"token\": \"refused\"}}");
    provider_ok("instance metadata");
    char *log = server_log();
    assert_has(log, "\"status\": 403");
    cr_assert_eq(count(log, "x-aws-ec2-metadata-token\":"), 0, "%s", log);
    free(log);
}

Test(imds, does_not_fall_back_when_imdsv1_is_disabled)
{
    use_imds();
    fake_env_set(&env, "AWS_EC2_METADATA_V1_DISABLED", "true");
    scenario("{\"imds\": {\"token\": \"refused\"}}");
    provider_fails();
    assert_has(err.message, "no AWS credentials found");
    assert_has(err.message, "IMDSv1 is disabled by AWS_EC2_METADATA_V1_DISABLED");
}

Test(imds, says_there_is_no_role)
{
    use_imds();
    scenario("{\"imds\": {\"role\": null}}");
    provider_fails();
    assert_has(err.message, "instance metadata (no IAM role:");
    assert_has(err.message, "answered HTTP 404");
}

Test(imds, reports_a_role_whose_credentials_cannot_be_read)
{
    use_imds();
    scenario("{\"imds\": {\"status\": 500}}");
    provider_fails();
    assert_has(err.message, "security-credentials/ddbfs-role) answered HTTP 500");
}

Test(imds, fails_fast_when_nothing_answers)
{
    use_imds();
    scenario("{\"imds\": {\"delay\": 5}}");
    double t0 = clock_mono();
    provider_fails();
    double took = clock_mono() - t0;
    cr_assert_lt(took, 4.0, "took %.1f s", took);
    assert_has(err.message, "no AWS credentials found");
    assert_has(err.message, "instance metadata (no answer from");
    assert_has(err.message, "within 1000 ms");

    /* Nobody listening at all. */
    ddb_config_cleanup(&cfg);
    fake_env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
    provider_fails();
    assert_has(err.message,
               "instance metadata (no answer from http://127.0.0.1:1/latest/api/token");
}

Test(imds, is_skipped_when_disabled)
{
    fake_env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", url);
    provider_fails();
    assert_has(err.message, "instance metadata (AWS_EC2_METADATA_DISABLED is true)");
    char *log = server_log();
    cr_assert_eq(log[0], '\0', "the service was asked: %s", log);
    free(log);
}

Test(imds, refreshes_before_the_credentials_expire)
{
    use_imds();
    char sc[200];
    snprintf(sc, sizeof sc, "{\"imds\": {\"expire_in\": %d}}", DDB_CREDS_REFRESH_S + 100);
    scenario(sc);
    provider_ok("instance metadata");
    char first[64];
    snprintf(first, sizeof first, "%s", creds.access_key_id);
    ddb_credentials_cleanup(&creds);
    /* Still fresh: no request. */
    cr_assert_eq(ddb_creds_get(prov, time(NULL) + 10, &creds, &err), 0, "%s", err.message);
    cr_assert_str_eq(creds.access_key_id, first);
    ddb_credentials_cleanup(&creds);
    char *log = server_log();
    cr_assert_eq(count(log, "\"method\""), 3);
    free(log);
    /* Inside the refresh window: a new token, new credentials. */
    cr_redirect_stderr();
    cr_assert_eq(ddb_creds_get(prov, time(NULL) + 150, &creds, &err), 0, "%s", err.message);
    cr_assert_str_neq(creds.access_key_id, first);
    log = server_log();
    cr_assert_eq(count(log, "\"method\""), 6);
    cr_assert_eq(count(log, "/latest/api/token"), 2);
    free(log);
}

/* ---- container ---- */

Test(container, sends_the_token_file_and_reads_it_again_on_refresh)
{
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", container_url);
    fake_env_set(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_path);
    fake_env_set(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-ignored");
    write_file(token_path, "container-auth-1\n");
    char sc[200];
    snprintf(sc, sizeof sc, "{\"container\": {\"auth\": \"container-auth-1\", \"expire_in\": %d}}",
             DDB_CREDS_REFRESH_S + 100);
    scenario(sc);
    provider_ok("container");
    cr_assert(strncmp(creds.access_key_id, "ASIAFAKECONT", 12) == 0, "%s", creds.access_key_id);
    cr_assert(creds.session_token && strncmp(creds.session_token, "FAKETOKENCONT", 13) == 0);
    char first[64];
    snprintf(first, sizeof first, "%s", creds.access_key_id);
    ddb_credentials_cleanup(&creds);

    write_file(token_path, "container-auth-2");
    snprintf(sc, sizeof sc, "{\"container\": {\"auth\": \"container-auth-2\", \"expire_in\": %d}}",
             DDB_CREDS_REFRESH_S + 100);
    scenario(sc);
    cr_redirect_stderr();
    cr_assert_eq(ddb_creds_get(prov, time(NULL) + 150, &creds, &err), 0, "%s", err.message);
    cr_assert_str_neq(creds.access_key_id, first);
    char *log = server_log();
    assert_has(log, "\"authorization\": \"container-auth-1\"");
    assert_has(log, "\"authorization\": \"container-auth-2\"");
    assert_has(log, "\"path\": \"/container/v2/creds\"");
    free(log);
}

Test(container, sends_the_token_variable_without_a_file)
{
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", container_url);
    fake_env_set(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-var");
    scenario("{\"container\": {\"auth\": \"container-auth-var\"}}");
    provider_ok("container");
}

Test(container, reports_a_refused_token_without_showing_it)
{
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", container_url);
    fake_env_set(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-wrong");
    scenario("{\"container\": {\"auth\": \"container-auth-right\"}}");
    provider_fails();
    assert_has(err.message, "container credentials (");
    assert_has(err.message, "/container/v2/creds) answered HTTP 401");
    assert_has(err.message, "check AWS_CONTAINER_AUTHORIZATION_TOKEN");
}

Test(container, reports_a_server_that_does_not_answer)
{
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds");
    provider_fails();
    assert_has(err.message, "container credentials (http://127.0.0.1:1/creds): no answer after 3");
}

Test(container, comes_before_instance_metadata)
{
    use_imds();
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", container_url);
    provider_ok("container");
    char *log = server_log();
    cr_assert_eq(count(log, "/latest/"), 0, "%s", log);
    free(log);
}

/* ---- web identity ---- */

static void use_web_identity(const char *token)
{
    write_file(token_path, token);
    fake_env_set(&env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
    fake_env_set(&env, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ddbfs");
    fake_env_set(&env, "AWS_ENDPOINT_URL_STS", sts_url);
}

Test(web_identity, assumes_the_role_with_the_token_file)
{
    use_web_identity("web-identity-jwt-1\n");
    fake_env_set(&env, "AWS_ROLE_SESSION_NAME", "my session");
    scenario("{\"sts\": {\"token\": \"web-identity-jwt-1\"}}");
    provider_ok("web identity");
    cr_assert(strncmp(creds.access_key_id, "ASIAFAKESTS", 11) == 0, "%s", creds.access_key_id);
    cr_assert(creds.secret_access_key &&
              strncmp(creds.secret_access_key, "FAKESECRETSTS", 13) == 0);
    cr_assert(creds.session_token && strncmp(creds.session_token, "FAKETOKENSTS", 12) == 0);
    cr_assert_gt(creds.expiration, time(NULL) + 1800);
    char *log = server_log();
    assert_has(log, "\"method\": \"POST\", \"path\": \"/sts/\"");
    assert_has(log, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam"
                    "%3A%3A123456789012%3Arole%2Fddbfs&RoleSessionName=my%20session&"
                    "WebIdentityToken=web-identity-jwt-1\"");
    cr_assert_eq(count(log, "\"authorization\""), 0, "the request was signed: %s", log);
    free(log);
}

Test(web_identity, reads_the_role_and_token_file_from_the_profile_and_sts_from_services)
{
    char text[1024];
    write_file(token_path, "web-identity-jwt-p");
    snprintf(text, sizeof text,
             "[default]\nrole_arn = arn:aws:iam::123456789012:role/p\n"
             "web_identity_token_file = %s\nrole_session_name = prof\nservices = local\n"
             "[services local]\nsts =\n  endpoint_url = %s\n",
             token_path, sts_url);
    write_file(config_path, text);
    provider_ok("web identity");
    char *log = server_log();
    assert_has(log, "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fp&RoleSessionName=prof&");
    free(log);
}

Test(web_identity, reads_the_token_file_again_on_refresh)
{
    use_web_identity("web-identity-jwt-1");
    char sc[200];
    snprintf(sc, sizeof sc, "{\"sts\": {\"token\": \"web-identity-jwt-1\", \"expire_in\": %d}}",
             DDB_CREDS_REFRESH_S + 100);
    scenario(sc);
    provider_ok("web identity");
    char first[64];
    snprintf(first, sizeof first, "%s", creds.access_key_id);
    ddb_credentials_cleanup(&creds);
    write_file(token_path, "web-identity-jwt-2");
    snprintf(sc, sizeof sc, "{\"sts\": {\"token\": \"web-identity-jwt-2\", \"expire_in\": %d}}",
             DDB_CREDS_REFRESH_S + 100);
    scenario(sc);
    cr_redirect_stderr();
    cr_assert_eq(ddb_creds_get(prov, time(NULL) + 150, &creds, &err), 0, "%s", err.message);
    cr_assert_str_neq(creds.access_key_id, first);
    char *log = server_log();
    assert_has(log, "WebIdentityToken=web-identity-jwt-2\"");
    free(log);
}

Test(web_identity, reports_the_sts_error_and_what_to_do)
{
    use_web_identity("web-identity-jwt-bad");
    scenario("{\"sts\": {\"token\": \"web-identity-jwt-good\"}}");
    provider_fails();
    assert_has(err.message, "web identity: STS AssumeRoleWithWebIdentity at ");
    assert_has(err.message,
               "/sts/ answered HTTP 400 InvalidIdentityToken: Couldn't verify the token");
    assert_has(err.message, "check that the token file holds a current token");
}

Test(web_identity, decodes_entities_in_the_answer)
{
    use_web_identity("web-identity-jwt");
    scenario("{\"sts\": {\"secret_xml\": \"FAKESECRET&amp;a&lt;b&gt;&quot;&apos;&#47;&#x2F;&#xe9;"
             "<![CDATA[<&>]]>\"}}");
    provider_ok("web identity");
    cr_assert(strcmp(creds.secret_access_key, "FAKESECRET&a<b>\"'//\xc3\xa9<&>") == 0,
              "the secret was not decoded as XML says");
}

Test(web_identity, needs_a_role_with_the_token_file)
{
    write_file(token_path, "web-identity-jwt");
    fake_env_set(&env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
    provider_fails();
    assert_has(err.message, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but no role is");
}

Test(web_identity, reports_a_missing_token_file)
{
    use_web_identity("x");
    unlink(token_path);
    provider_fails();
    assert_has(err.message, "web identity: cannot read the token file");
    assert_has(err.message, token_path);
}

Test(web_identity, comes_after_the_environment_and_before_the_credentials_file)
{
    char path[200];
    use_web_identity("web-identity-jwt");
    snprintf(path, sizeof path, "%s/.aws/credentials", home);
    write_file(path, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
    provider_ok("web identity");
    ddb_credentials_cleanup(&creds);
    ddb_creds_provider_free(prov);
    ddb_config_cleanup(&cfg);
    fake_env_set(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fake_env_set(&env, "AWS_SECRET_ACCESS_KEY", "s");
    provider_ok("environment");
}
