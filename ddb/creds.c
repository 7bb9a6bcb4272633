/* The credential chain (see creds.h). Each source is a row of the chain table: a name and a load
 * function that says "loaded", "does not apply here" (with a note for the final message) or
 * "error". The provider keeps the source that answered first and reloads from it only.
 *
 * Secrets (secret keys, session tokens) never reach a message or the log, and every copy we make
 * of one is zeroed before it is freed. */
#include "ddb/creds.h"
#include "base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/log.h"
#include "ddb/creds_source.h"

extern char **environ;

#define NOTE_MAX 2048 /* what the chain tried, for the final message */

struct source {
    const char *name;
    ddb_creds_load_fn *load;
};

struct ddb_creds_provider {
    const struct ddb_config *cfg; /* borrowed */
    const struct source *src;     /* the chain's row in use */
    pthread_mutex_t mu;           /* guards cur; held only to copy */
    pthread_mutex_t refresh_mu;   /* one reload at a time; held while a source loads */
    struct ddb_credentials cur;
    time_t last_try; /* when the last reload started (guarded by refresh_mu) */
};

/* ---- struct ddb_credentials ---- */

static void zero_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void ddb_credentials_cleanup(struct ddb_credentials *c)
{
    if (!c)
        return;
    zero_free(c->access_key_id);
    zero_free(c->secret_access_key);
    zero_free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
    c->expiration = 0;
    c->source = NULL;
}

int ddb_credentials_copy(struct ddb_credentials *dst, const struct ddb_credentials *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->expiration = src->expiration;
    dst->source = src->source;
    if ((src->access_key_id && !(dst->access_key_id = strdup(src->access_key_id))) ||
        (src->secret_access_key && !(dst->secret_access_key = strdup(src->secret_access_key))) ||
        (src->session_token && !(dst->session_token = strdup(src->session_token)))) {
        ddb_credentials_cleanup(dst);
        return -1;
    }
    return 0;
}

enum load_result ddb_creds_fill(struct ddb_credentials *c, const char *key, const char *secret,
                                const char *token, struct ddb_error *err)
{
    memset(c, 0, sizeof(*c));
    if (!(c->access_key_id = strdup(key)) || !(c->secret_access_key = strdup(secret)) ||
        (token && token[0] && !(c->session_token = strdup(token)))) {
        ddb_credentials_cleanup(c);
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        return LOAD_ERROR;
    }
    return LOAD_OK;
}

/* ---- sources ---- */

static enum load_result load_env(const struct ddb_config *cfg, struct ddb_credentials *out,
                                 struct buf *why, struct ddb_error *err)
{
    const char *key = ddb_config_env(cfg, "AWS_ACCESS_KEY_ID");
    const char *secret = ddb_config_env(cfg, "AWS_SECRET_ACCESS_KEY");
    if (cfg->profile_explicit) {
        buf_addf(why, "environment (skipped: profile %s was named by option)", cfg->profile);
        return LOAD_SKIPPED;
    }
    if (!key && !secret) {
        buf_addstr(why, "environment (AWS_ACCESS_KEY_ID not set)");
        return LOAD_SKIPPED;
    }
    if (!key || !secret) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "the environment has %s but not %s: set both, or neither to use profile %s",
                      key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                      key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID", cfg->profile);
        return LOAD_ERROR;
    }
    return ddb_creds_fill(out, key, secret, ddb_config_env(cfg, "AWS_SESSION_TOKEN"), err);
}

/* The keys of the profile in one file. */
static enum load_result load_keys(const struct ddb_config *cfg, int config_file,
                                  struct ddb_credentials *out, struct buf *why,
                                  struct ddb_error *err)
{
    const char *path = config_file ? cfg->config_path : cfg->credentials_path;
    const struct ddb_ini *ini = config_file ? cfg->config : cfg->credentials;
    const char *key = ddb_config_profile_get(cfg, "aws_access_key_id", config_file, !config_file);
    const char *secret =
        ddb_config_profile_get(cfg, "aws_secret_access_key", config_file, !config_file);
    const char *token = ddb_config_profile_get(cfg, "aws_session_token", config_file, !config_file);
    if (key && !key[0])
        key = NULL;
    if (secret && !secret[0])
        secret = NULL;

    if (!key && !secret) {
        if (!ini)
            buf_addf(why, "%s (does not exist)", path);
        else
            buf_addf(why, "%s (no aws_access_key_id for profile %s)", path, cfg->profile);
        return LOAD_SKIPPED;
    }
    if (!key || !secret) {
        ddb_error_set(err, DDB_ECREDENTIALS, "profile %s in %s has %s but no %s", cfg->profile,
                      path, key ? "aws_access_key_id" : "aws_secret_access_key",
                      key ? "aws_secret_access_key" : "aws_access_key_id");
        return LOAD_ERROR;
    }
    return ddb_creds_fill(out, key, secret, token, err);
}

static enum load_result load_credentials_file(const struct ddb_config *cfg,
                                              struct ddb_credentials *out, struct buf *why,
                                              struct ddb_error *err)
{
    return load_keys(cfg, 0, out, why, err);
}

static enum load_result load_config_file(const struct ddb_config *cfg, struct ddb_credentials *out,
                                         struct buf *why, struct ddb_error *err)
{
    return load_keys(cfg, 1, out, why, err);
}

/* ---- credential_process ---- */

int ddb_creds_parse_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    int n = 0;
    int y, mo, d, h, mi, sec;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    s += n;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return -1;
    s++;
    if (sscanf(s, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
        return -1;
    s += n;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    long offset = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om;
        int sign = *s == '-' ? -1 : 1;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600L + om * 60L);
        s += 1 + n;
    } else {
        return -1;
    }
    if (*s != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t - offset;
    return 0;
}

/* How long credential_process may take: DDB_CREDS_PROCESS_TIMEOUT_S, or less when the (test)
 * variable DDBFS_CREDENTIAL_PROCESS_TIMEOUT_S, read through cfg's getenv, asks for less. */
static int process_timeout(const struct ddb_config *cfg)
{
    const char *v = ddb_config_env(cfg, "DDBFS_CREDENTIAL_PROCESS_TIMEOUT_S");
    char *end;
    if (!v)
        return DDB_CREDS_PROCESS_TIMEOUT_S;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1 || n > DDB_CREDS_PROCESS_TIMEOUT_S)
        return DDB_CREDS_PROCESS_TIMEOUT_S;
    return (int)n;
}

/* Runs cmd with /bin/sh -c, its stdout into out (capped), its stdin and stderr shared with us.
 * Returns 0, or -1 with err filled.
 *
 * The command runs in a process group of its own so that a timeout kills all of it (sh forks the
 * command, so killing sh alone would leave it running). As with timeout(1), the price is that the
 * command is not in the terminal's foreground group: it may write prompts to stderr, but reading
 * from the terminal stops it until the timeout. */
static int run_process(const struct ddb_config *cfg, const char *cmd, struct buf *out,
                       struct ddb_error *err)
{
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    int rc = -1;
    int spawned_actions = 0, spawned_attr = 0;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    char ebuf[128];
    const char *what = NULL; /* why it failed, once it has */
    char whatbuf[160];
    int timeout_s = process_timeout(cfg);

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(whatbuf, sizeof whatbuf, "could not be started: pipe: %s",
                 strerror_r(errno, ebuf, sizeof ebuf));
        what = whatbuf;
        goto out;
    }
    if (posix_spawn_file_actions_init(&actions) != 0) {
        what = "could not be started: out of memory";
        goto out;
    }
    spawned_actions = 1;
    if (posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO) != 0) {
        what = "could not be started: out of memory";
        goto out;
    }
    if (posix_spawnattr_init(&attr) != 0) {
        what = "could not be started: out of memory";
        goto out;
    }
    spawned_attr = 1;
    if (posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0 ||
        posix_spawnattr_setpgroup(&attr, 0) != 0) {
        what = "could not be started: posix_spawnattr";
        goto out;
    }
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    int se = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
    if (se != 0) {
        pid = -1;
        snprintf(whatbuf, sizeof whatbuf, "could not be started: /bin/sh: %s",
                 strerror_r(se, ebuf, sizeof ebuf));
        what = whatbuf;
        goto out;
    }
    close(fds[1]);
    fds[1] = -1;

    double deadline = clock_mono() + timeout_s;
    for (;;) {
        double left = deadline - clock_mono();
        if (left <= 0) {
            snprintf(whatbuf, sizeof whatbuf, "did not finish within %d seconds and was killed",
                     timeout_s);
            what = whatbuf;
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            snprintf(whatbuf, sizeof whatbuf, "could not be read: poll: %s",
                     strerror_r(errno, ebuf, sizeof ebuf));
            what = whatbuf;
            break;
        }
        if (pr == 0)
            continue;
        char chunk[4096];
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            snprintf(whatbuf, sizeof whatbuf, "could not be read: %s",
                     strerror_r(errno, ebuf, sizeof ebuf));
            what = whatbuf;
            break;
        }
        if (r == 0)
            break; /* EOF: the command closed its stdout */
        enum buf_err be = buf_add(out, chunk, (size_t)r);
        explicit_bzero(chunk, sizeof chunk);
        if (be == BUF_ETOOBIG) {
            snprintf(whatbuf, sizeof whatbuf, "printed more than %u bytes",
                     (unsigned)DDB_CREDS_PROCESS_OUTPUT_MAX);
            what = whatbuf;
            break;
        }
        if (be != BUF_OK) {
            what = "could not be read: out of memory";
            break;
        }
    }
    if (what)
        kill(-pid, SIGKILL);
    close(fds[0]);
    fds[0] = -1;

    /* EOF came: the command should exit now; the wait is bounded by the same deadline. */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, what ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            /* ECHILD: SIGCHLD is ignored and the child was reaped for us; its status is lost. */
            status = 0;
            break;
        }
        if (w == 0) {
            if (clock_mono() >= deadline) {
                snprintf(whatbuf, sizeof whatbuf, "did not finish within %d seconds and was killed",
                         timeout_s);
                what = whatbuf;
                kill(-pid, SIGKILL);
                continue;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (!what && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        snprintf(whatbuf, sizeof whatbuf, "exited with status %d", WEXITSTATUS(status));
        what = whatbuf;
    } else if (!what && WIFSIGNALED(status)) {
        snprintf(whatbuf, sizeof whatbuf, "was killed by signal %d", WTERMSIG(status));
        what = whatbuf;
    }
    if (!what)
        rc = 0;

out:
    if (what)
        ddb_error_set(err, DDB_ECREDENTIALS, "credential_process of profile %s (%s) %s",
                      cfg->profile, cmd, what);
    if (spawned_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (spawned_attr)
        posix_spawnattr_destroy(&attr);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return rc;
}

/* Overwrites a JSON string's bytes: jansson frees without zeroing. */
static void json_wipe_string(json_t *v)
{
    if (json_is_string(v))
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

static enum load_result load_process(const struct ddb_config *cfg, struct ddb_credentials *out,
                                     struct buf *why, struct ddb_error *err)
{
    const char *cmd = ddb_config_profile_get(cfg, "credential_process", 1, 1);
    struct buf text;
    json_t *doc = NULL;
    enum load_result rc = LOAD_ERROR;

    buf_init(&text, DDB_CREDS_PROCESS_OUTPUT_MAX);
    memset(out, 0, sizeof(*out));
    if (!cmd || !cmd[0]) {
        buf_addf(why, "credential_process (not set in profile %s)", cfg->profile);
        rc = LOAD_SKIPPED;
        goto out;
    }
    if (run_process(cfg, cmd, &text, err) < 0)
        goto out;

    json_error_t jerr;
    doc = json_loadb(buf_str(&text), text.len, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        /* jansson's text may quote the output, so only the position is given. */
        if (doc)
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "credential_process of profile %s (%s) printed JSON that is not an "
                          "object",
                          cfg->profile, cmd);
        else
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "credential_process of profile %s (%s) printed invalid JSON (line %d, "
                          "column %d)",
                          cfg->profile, cmd, jerr.line, jerr.column);
        goto out;
    }
    json_t *version = json_object_get(doc, "Version");
    json_t *key = json_object_get(doc, "AccessKeyId");
    json_t *secret = json_object_get(doc, "SecretAccessKey");
    json_t *token = json_object_get(doc, "SessionToken");
    json_t *expiration = json_object_get(doc, "Expiration");
    if (!json_is_integer(version) || json_integer_value(version) != 1) {
        if (json_is_integer(version))
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "credential_process of profile %s (%s) printed Version %lld; only "
                          "Version 1 is supported",
                          cfg->profile, cmd, (long long)json_integer_value(version));
        else
            ddb_error_set(err, DDB_ECREDENTIALS,
                          "credential_process of profile %s (%s) printed no \"Version\": 1",
                          cfg->profile, cmd);
        goto out;
    }
    const char *missing = !json_is_string(key) || !json_string_length(key) ? "AccessKeyId"
                          : !json_is_string(secret) || !json_string_length(secret)
                              ? "SecretAccessKey"
                              : NULL;
    if (missing) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "credential_process of profile %s (%s) printed no %s string", cfg->profile,
                      cmd, missing);
        goto out;
    }
    if (token && !json_is_null(token) && !json_is_string(token)) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "credential_process of profile %s (%s) printed a SessionToken that is not a "
                      "string",
                      cfg->profile, cmd);
        goto out;
    }
    time_t exp = 0;
    if (expiration && !json_is_null(expiration) &&
        (!json_is_string(expiration) ||
         ddb_creds_parse_time(json_string_value(expiration), &exp) < 0)) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "credential_process of profile %s (%s) printed an Expiration that is not an "
                      "ISO 8601 time such as 2026-11-22T10:00:00Z",
                      cfg->profile, cmd);
        goto out;
    }
    rc = ddb_creds_fill(out, json_string_value(key), json_string_value(secret),
                        json_is_string(token) ? json_string_value(token) : NULL, err);
    if (rc == LOAD_OK)
        out->expiration = exp;

out:
    if (doc) {
        json_wipe_string(json_object_get(doc, "SecretAccessKey"));
        json_wipe_string(json_object_get(doc, "SessionToken"));
        json_decref(doc);
    }
    if (text.data)
        explicit_bzero(text.data, text.len);
    buf_cleanup(&text);
    return rc;
}

/* Profiles that assume a role from another profile's credentials, or sign in with IAM Identity
 * Center (SSO): sources of botocore's that ddbfs does not have. Said plainly, with a way round,
 * rather than falling through to a source the user did not mean. */
static enum load_result load_unsupported(const struct ddb_config *cfg, struct ddb_credentials *out,
                                         struct buf *why, struct ddb_error *err)
{
    const char *arn = ddb_config_profile_get(cfg, "role_arn", 1, 0);
    const char *from = ddb_config_profile_get(cfg, "source_profile", 1, 0);
    const char *what = NULL;
    (void)out;
    if (!from)
        from = ddb_config_profile_get(cfg, "credential_source", 1, 0);
    if (arn && arn[0] && from && from[0])
        what = "assumes a role (role_arn with source_profile or credential_source)";
    else if (ddb_config_profile_get(cfg, "sso_session", 1, 0) ||
             ddb_config_profile_get(cfg, "sso_start_url", 1, 0))
        what = "signs in with IAM Identity Center (sso_session or sso_start_url)";
    if (!what) {
        buf_addstr(why, "role and SSO profiles (none)");
        return LOAD_SKIPPED;
    }
    ddb_error_set(err, DDB_ECREDENTIALS,
                  "profile %s %s, which ddbfs does not support yet. To use it, add a profile with "
                  "\"credential_process = aws configure export-credentials --profile %s --format "
                  "process\" to %s and mount with -o profile= that profile",
                  cfg->profile, what, cfg->profile, cfg->config_path);
    return LOAD_ERROR;
}

/* The chain, in the AWS CLI's (botocore's) order. */
static const struct source chain[] = {
    {"environment", load_env},
    {"role or SSO profile", load_unsupported},
    {"web identity", ddb_creds_load_web_identity},
    {"shared credentials file", load_credentials_file},
    {"credential_process", load_process},
    {"config file", load_config_file},
    {"container", ddb_creds_load_container},
    {"instance metadata", ddb_creds_load_imds},
};

/* ---- the provider ---- */

/* Loads from src into out, stamping the source's name. */
static int load_from(const struct source *src, const struct ddb_config *cfg,
                     struct ddb_credentials *out, struct buf *why, struct ddb_error *err)
{
    enum load_result r = src->load(cfg, out, why, err);
    if (r == LOAD_OK)
        out->source = src->name;
    return r;
}

struct ddb_creds_provider *ddb_creds_provider_new(const struct ddb_config *cfg,
                                                  struct ddb_error *err)
{
    struct ddb_creds_provider *p = calloc(1, sizeof(*p));
    struct buf why;
    buf_init(&why, NOTE_MAX);
    if (!p) {
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
        goto fail;
    }
    p->cfg = cfg;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        if (why.len)
            buf_addstr(&why, "; ");
        enum load_result r = load_from(&chain[i], cfg, &p->cur, &why, err);
        if (r == LOAD_ERROR)
            goto fail;
        if (r == LOAD_OK) {
            p->src = &chain[i];
            break;
        }
    }
    if (!p->src) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "no AWS credentials found for profile %s. Tried: %s. To fix: set "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile to %s, or "
                      "configure credential_process, or run where an instance or container role "
                      "is available",
                      cfg->profile, buf_str(&why), cfg->credentials_path);
        goto fail;
    }
    time_t now = time(NULL);
    if (p->cur.expiration && p->cur.expiration <= now) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "the credentials from %s for profile %s have already expired", p->src->name,
                      cfg->profile);
        goto fail;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->refresh_mu, NULL);
    buf_cleanup(&why);
    return p;

fail:
    buf_cleanup(&why);
    if (p)
        ddb_credentials_cleanup(&p->cur);
    free(p);
    return NULL;
}

void ddb_creds_provider_free(struct ddb_creds_provider *p)
{
    if (!p)
        return;
    ddb_credentials_cleanup(&p->cur);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->refresh_mu);
    free(p);
}

static int fresh(const struct ddb_credentials *c, time_t now)
{
    return c->expiration == 0 || now < c->expiration - DDB_CREDS_REFRESH_S;
}

static int valid(const struct ddb_credentials *c, time_t now)
{
    return c->expiration == 0 || now < c->expiration;
}

/* Copies p->cur into out when test(cur, now) holds. 1: copied, 0: not, -1: out of memory. */
static int copy_if(struct ddb_creds_provider *p, time_t now,
                   int (*test)(const struct ddb_credentials *, time_t), struct ddb_credentials *out)
{
    int r = 0;
    pthread_mutex_lock(&p->mu);
    if (test(&p->cur, now))
        r = ddb_credentials_copy(out, &p->cur) < 0 ? -1 : 1;
    pthread_mutex_unlock(&p->mu);
    return r;
}

/* Reloads from the provider's source. Call with refresh_mu held. Returns 1 (p->cur replaced) or
 * -1 (err filled; p->cur is kept). */
static int reload(struct ddb_creds_provider *p, time_t now, struct ddb_error *err)
{
    struct ddb_credentials c = {0};
    struct buf why;
    buf_init(&why, NOTE_MAX);
    p->last_try = now;
    enum load_result r = load_from(p->src, p->cfg, &c, &why, err);
    if (r == LOAD_SKIPPED)
        ddb_error_set(err, DDB_ECREDENTIALS, "the credentials of profile %s are gone from %s: %s",
                      p->cfg->profile, p->src->name, buf_str(&why));
    buf_cleanup(&why);
    if (r != LOAD_OK)
        return -1;
    if (!valid(&c, now)) {
        ddb_error_set(err, DDB_ECREDENTIALS,
                      "the credentials of profile %s from %s have already expired", p->cfg->profile,
                      p->src->name);
        ddb_credentials_cleanup(&c);
        return -1;
    }
    if (c.expiration)
        log_info("credentials from %s refreshed for profile %s (they expire in %lld s)",
                 p->src->name, p->cfg->profile, (long long)(c.expiration - now));
    else
        log_info("credentials from %s reloaded for profile %s", p->src->name, p->cfg->profile);
    pthread_mutex_lock(&p->mu);
    ddb_credentials_cleanup(&p->cur);
    p->cur = c;
    pthread_mutex_unlock(&p->mu);
    return 1;
}

int ddb_creds_get(struct ddb_creds_provider *p, time_t now, struct ddb_credentials *out,
                  struct ddb_error *err)
{
    struct ddb_error lerr;
    int c;

    memset(out, 0, sizeof(*out));
    c = copy_if(p, now, fresh, out);
    if (c == 0) {
        pthread_mutex_lock(&p->refresh_mu);
        /* Another thread may have refreshed while this one waited. */
        c = copy_if(p, now, fresh, out);
        /* A source that just answered (or failed) is not asked again at once while the cached
         * credentials still serve: no storm of requests from every thread that signs. */
        if (c == 0 && p->last_try && now >= p->last_try && now - p->last_try < DDB_CREDS_RETRY_S)
            c = copy_if(p, now, valid, out);
        if (c == 0) {
            ddb_error_clear(&lerr);
            if (reload(p, now, &lerr) > 0) {
                c = copy_if(p, now, valid, out);
            } else {
                /* The cached credentials still serve until they expire. */
                c = copy_if(p, now, valid, out);
                if (c > 0)
                    log_warn("could not refresh the credentials of profile %s: %s; the cached "
                             "ones are used until they expire",
                             p->cfg->profile, lerr.message);
                else if (c == 0 && err)
                    *err = lerr;
            }
        }
        pthread_mutex_unlock(&p->refresh_mu);
    }
    if (c < 0)
        ddb_error_set(err, DDB_ENOMEM, "out of memory");
    return c > 0 ? 0 : -1;
}

int ddb_creds_peek(struct ddb_creds_provider *p, time_t now, struct ddb_credentials *out)
{
    memset(out, 0, sizeof(*out));
    return copy_if(p, now, valid, out) > 0 ? 0 : -1;
}

const char *ddb_creds_source(const struct ddb_creds_provider *p)
{
    return p->src->name;
}
