#include "fake_env.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

const char *fake_env_get(const char *name, void *ud)
{
    struct fake_env *e = ud;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->names[i], name) == 0)
            return e->values[i];
    return NULL;
}

void fake_env_set(struct fake_env *env, const char *name, const char *value)
{
    for (int i = 0; i < env->n; i++)
        if (strcmp(env->names[i], name) == 0) {
            env->values[i] = value;
            return;
        }
    cr_assert_lt(env->n, FAKE_ENV_MAX);
    env->names[env->n] = name;
    env->values[env->n++] = value;
}

void fake_env_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}
