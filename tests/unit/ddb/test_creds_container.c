#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ddb/creds_source.h"
#include "fake_env.h"

/* Which container credential URLs are allowed: botocore's rules, checked without any network. */

static struct fake_env env;
static struct ddb_config cfg;
static struct ddb_error err;

static void setup(void)
{
    memset(&env, 0, sizeof env);
    memset(&cfg, 0, sizeof cfg);
    memset(&err, 0, sizeof err);
    cfg.getenv = fake_env_get;
    cfg.getenv_ud = &env;
}

TestSuite(creds_container, .init = setup);

static char *url_for(const char *var, const char *value)
{
    fake_env_set(&env, var, value);
    return ddb_creds_container_url(&cfg, &err);
}

static void assert_allowed(const char *full)
{
    memset(&env, 0, sizeof env);
    char *u = url_for("AWS_CONTAINER_CREDENTIALS_FULL_URI", full);
    cr_assert_not_null(u, "%s refused: %s", full, err.message);
    cr_assert_str_eq(u, full);
    free(u);
}

static void assert_refused(const char *full, const char *why)
{
    memset(&env, 0, sizeof env);
    char *u = url_for("AWS_CONTAINER_CREDENTIALS_FULL_URI", full);
    cr_assert_null(u, "%s allowed", full);
    cr_assert_eq(err.code, DDB_ECREDENTIALS);
    cr_assert(strstr(err.message, why) != NULL, "%s: %s", full, err.message);
}

Test(creds_container, puts_the_relative_uri_on_the_ecs_agent_address)
{
    char *u = url_for("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc-123");
    cr_assert_str_eq(u, "http://169.254.170.2/v2/credentials/abc-123");
    free(u);
}

Test(creds_container, prefers_the_relative_uri_to_the_full_one)
{
    fake_env_set(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:80/x");
    char *u = url_for("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/y");
    cr_assert_str_eq(u, "http://169.254.170.2/v2/y");
    free(u);
}

Test(creds_container, allows_https_anywhere_and_http_to_loopback_and_the_agents)
{
    assert_allowed("https://creds.example.com/role");
    assert_allowed("http://127.0.0.1:8080/creds");
    assert_allowed("http://127.1.2.3/creds");
    assert_allowed("http://localhost:51679/creds");
    assert_allowed("http://[::1]:8080/creds");
    assert_allowed("http://169.254.170.2/v2/credentials");
    assert_allowed("http://169.254.170.23/v1/credentials");
    assert_allowed("http://[fd00:ec2::23]/v1/credentials");
}

Test(creds_container, refuses_http_to_other_hosts_and_other_schemes)
{
    assert_refused("http://192.0.2.10/creds", "uses http to host 192.0.2.10: only https");
    assert_refused("http://169.254.169.254/latest", "uses http to host 169.254.169.254");
    assert_refused("http://creds.example.com/x", "uses http to host creds.example.com");
    assert_refused("http://127.0.0.1@evil.example.com/x", "has no host");
    assert_refused("ftp://127.0.0.1/x", "is not an http:// or https:// URL");
    assert_refused("https://", "has no host");
    assert_refused("http://127.0.0.1/a b", "a space or a control character");
}

Test(creds_container, does_not_apply_without_either_variable)
{
    cr_assert_null(ddb_creds_container_url(&cfg, &err));
    cr_assert_eq(err.code, DDB_OK);
}
