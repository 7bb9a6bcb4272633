/* An environment for the injected getenv of ddb/config.h, so that tests never read the process's
 * environment, and a small file writer. */
#ifndef TESTS_FAKE_ENV_H
#define TESTS_FAKE_ENV_H

#define FAKE_ENV_MAX 16

struct fake_env {
    const char *names[FAKE_ENV_MAX];  /* borrowed */
    const char *values[FAKE_ENV_MAX]; /* borrowed */
    int n;
};

/* A ddb_getenv_fn: ud is a struct fake_env. Borrowed value or NULL. */
const char *fake_env_get(const char *name, void *ud);
/* Sets name (replacing an earlier value); both strings are borrowed and must outlive env. */
void fake_env_set(struct fake_env *env, const char *name, const char *value);
/* Writes text to path (fails the test when it cannot). */
void fake_env_write_file(const char *path, const char *text);

#endif
