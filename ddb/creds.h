/* Credentials, found along the AWS CLI's (botocore's) chain, one row of the chain table in
 * creds.c per source:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), unless a
 *      profile was named explicitly by option
 *   (a profile that assumes a role with source_profile / credential_source, or uses SSO, is
 *   refused here with a way round: credential_process = aws configure export-credentials)
 *   2. web identity (creds_web_identity.c): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
 *      (+ AWS_ROLE_SESSION_NAME), or the profile's role_arn + web_identity_token_file
 *      (+ role_session_name), through STS AssumeRoleWithWebIdentity (unsigned) at
 *      https://sts.REGION.amazonaws.com or the configured STS endpoint; the token file is read
 *      again on every refresh. The variables are ignored when a profile was named by option.
 *   3. shared credentials file: the profile's aws_access_key_id / aws_secret_access_key
 *      (/ aws_session_token)
 *   4. credential_process in the profile (either file): the command's JSON output
 *      {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"}
 *   5. config file: the same keys as 3 in the profile's section
 *   6. container (creds_container.c): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2)
 *      or AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback or the EKS pod identity
 *      addresses), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / _TOKEN as Authorization
 *   7. instance metadata (creds_imds.c): IMDSv2 (token PUT, then the role's credentials), IMDSv1
 *      when the token is refused with 403/404/405 unless AWS_EC2_METADATA_V1_DISABLED;
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT or the profile's ec2_metadata_service_endpoint,
 *      AWS_EC2_METADATA_DISABLED=true turns it off; 1 s timeouts (AWS_METADATA_SERVICE_TIMEOUT),
 *      so that a machine without it fails fast
 * The first source that applies is used from then on (one that applies but fails ends the chain
 * with its error); credentials that expire are refreshed from the same source before they do
 * (DDB_CREDS_REFRESH_S ahead), at most once every DDB_CREDS_RETRY_S while the cached ones still
 * serve. The remote sources block (libcurl easy calls, see creds_source.h): never call
 * ddb_creds_get on the I/O thread. */
#ifndef DDB_CREDS_H
#define DDB_CREDS_H

#include <time.h>

#include "ddb/config.h"
#include "ddb/error.h"

#define DDB_CREDS_REFRESH_S (5 * 60)   /* refresh this long before expiry */
#define DDB_CREDS_PROCESS_TIMEOUT_S 60 /* credential_process must answer within this */
#define DDB_CREDS_RETRY_S 10           /* a source is asked again no sooner than this */

struct ddb_credentials {
    char *access_key_id;     /* owned */
    char *secret_access_key; /* owned; never logged */
    char *session_token;     /* owned; NULL when none; never logged */
    time_t expiration;       /* 0: does not expire */
    const char *source;      /* static: "environment", "shared credentials file", ... */
};

/* Zeroes the secrets and frees the strings. The struct may be reused after. */
void ddb_credentials_cleanup(struct ddb_credentials *c);
/* Deep copy into dst (which must be clean). Returns 0 or -1 (out of memory). */
int ddb_credentials_copy(struct ddb_credentials *dst, const struct ddb_credentials *src);

struct ddb_creds_provider; /* opaque, thread-safe */

/* Picks the source along the chain and loads credentials once (so that a mistake is reported at
 * mount time). cfg is borrowed and must outlive the provider. Returns NULL with err filled
 * (DDB_ECREDENTIALS, a message saying what was tried and what to do). */
struct ddb_creds_provider *ddb_creds_provider_new(const struct ddb_config *cfg,
                                                  struct ddb_error *err);
void ddb_creds_provider_free(struct ddb_creds_provider *p);

/* Copies valid credentials into out (caller cleans up), refreshing them first when they expire
 * within DDB_CREDS_REFRESH_S of now. May block (runs credential_process); not for the I/O thread.
 * Returns 0, or -1 with err filled. */
int ddb_creds_get(struct ddb_creds_provider *p, time_t now, struct ddb_credentials *out,
                  struct ddb_error *err);

/* Non-blocking: copies the cached credentials if they are still valid at now (even inside the
 * refresh window). Returns 0, or -1 when they have expired (or out of memory). */
int ddb_creds_peek(struct ddb_creds_provider *p, time_t now, struct ddb_credentials *out);

/* Static name of the source in use, e.g. "credential_process". */
const char *ddb_creds_source(const struct ddb_creds_provider *p);

#endif
