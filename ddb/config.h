/* Where ddbfs finds its region, endpoint and profile, resolved as the AWS CLI does.
 *
 *   profile:  option, then AWS_PROFILE, then "default"
 *   files:    AWS_CONFIG_FILE (else ~/.aws/config), AWS_SHARED_CREDENTIALS_FILE (else
 *             ~/.aws/credentials); either may be missing
 *   region:   option, then AWS_REGION, AWS_DEFAULT_REGION, then the profile's "region"
 *   endpoint: option, then AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, then the profile's
 *             services section (services = NAME -> [services NAME] dynamodb = endpoint_url = ...),
 *             then the profile's endpoint_url, else https://dynamodb.REGION.amazonaws.com
 *             (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, or ignore_configured_endpoint_urls = true
 *             in the profile, skip everything but the option)
 *
 * The environment is read through an injected function so tests need not touch the process's. */
#ifndef DDB_CONFIG_H
#define DDB_CONFIG_H

#include "ddb/error.h"

struct ddb_ini;

/* Returns the variable's value (borrowed) or NULL. */
typedef const char *ddb_getenv_fn(const char *name, void *ud);

struct ddb_config_opts {
    const char *profile;  /* explicit (-o profile=), or NULL */
    const char *region;   /* explicit (SOURCE or -o region=), or NULL */
    const char *endpoint; /* explicit (-o endpoint=), or NULL */
    ddb_getenv_fn *getenv; /* NULL: the process environment (getenv(3)) */
    void *getenv_ud;
};

/* Where a setting came from, for messages ("AWS_REGION", "profile dev in /root/.aws/config"). */
#define DDB_CONFIG_FROM_MAX 512

struct ddb_config {
    char *profile;          /* never NULL after a successful load */
    int profile_explicit;   /* named by the option: environment credentials are then skipped */
    char *region;           /* never NULL after a successful load */
    char *endpoint;         /* a URL, never NULL after a successful load */
    char region_from[DDB_CONFIG_FROM_MAX];
    char endpoint_from[DDB_CONFIG_FROM_MAX];
    char *config_path;      /* the files' paths, whether or not they exist */
    char *credentials_path;
    struct ddb_ini *config;      /* owned; NULL when the file is missing */
    struct ddb_ini *credentials; /* owned; NULL when the file is missing */
    ddb_getenv_fn *getenv;       /* copied from the options, for the credential providers */
    void *getenv_ud;
};

/* Resolves everything. Returns 0, or -1 with err filled (DDB_ECONFIG): a malformed file (the
 * message names the file and line), a profile named explicitly or by AWS_PROFILE that is in
 * neither file, no region anywhere, an endpoint that is not an http(s) URL.
 * out is always safe to pass to ddb_config_cleanup afterwards. */
int ddb_config_load(const struct ddb_config_opts *opts, struct ddb_config *out,
                    struct ddb_error *err);
void ddb_config_cleanup(struct ddb_config *cfg);

/* Looks a variable up through cfg's getenv. Borrowed or NULL; "" counts as unset. */
const char *ddb_config_env(const struct ddb_config *cfg, const char *name);

/* The profile's value for key: in the config file's [profile NAME] ([default] for "default"),
 * then, for credential keys, the credentials file's [NAME]. Borrowed or NULL.
 * from_config: look in the config file; from_credentials: in the credentials file. */
const char *ddb_config_profile_get(const struct ddb_config *cfg, const char *key, int from_config,
                                   int from_credentials);

/* The endpoint configured for another service (for example "sts", env name "STS"), in the same
 * order as dynamodb's: AWS_ENDPOINT_URL_<ENV_NAME>, AWS_ENDPOINT_URL, the profile's services
 * section, the profile's endpoint_url (none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
 * ignore_configured_endpoint_urls is true). Borrowed, or NULL when none is configured; not
 * checked (the caller says when it is not a URL). from (DDB_CONFIG_FROM_MAX bytes) says where it
 * came from. */
const char *ddb_config_service_endpoint(const struct ddb_config *cfg, const char *service,
                                        const char *env_name, char *from);

#endif
