#include "cache/name.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_BASIS2 0x6c62272e07bb0142ULL /* a second, independent hash for long names */

static int safe_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

uint64_t cache_name_hash(const char *s, uint64_t basis)
{
    uint64_t h = basis ? basis : FNV_BASIS;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

size_t cache_name_make(const char *key, char out[CACHE_NAME_BUF])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t klen = strlen(key), n = 0, i;
    for (i = 0; i < klen; i++) {
        unsigned char c = (unsigned char)key[i];
        int lit =
            safe_char(c) && !(c == '.' && (i == 0 || (klen - i == CACHE_NAME_PART_LEN &&
                                                      strcmp(key + i, CACHE_NAME_PART) == 0)));
        if (n + (lit ? 1 : 3) > CACHE_NAME_READABLE_MAX)
            break;
        if (lit) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (i < klen) {
        uint64_t h1 = cache_name_hash(key, FNV_BASIS), h2 = cache_name_hash(key, FNV_BASIS2);
        snprintf(out + n, CACHE_NAME_BUF - n, "~%016" PRIx64 "%016" PRIx64, h1, h2);
        n += CACHE_NAME_HASH_LEN;
    }
    out[n] = '\0';
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cache_name_parse(const char *name, char key[CACHE_NAME_BUF])
{
    size_t n = 0;
    for (const char *p = name; *p;) {
        int c;
        if (*p == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0)
                return 0;
            c = hi * 16 + lo;
            p += 3;
        } else if (safe_char((unsigned char)*p)) {
            c = (unsigned char)*p++;
        } else {
            return 0;
        }
        if (c == 0 || n + 1 >= CACHE_NAME_BUF)
            return 0;
        key[n++] = (char)c;
    }
    key[n] = '\0';
    /* Only the one spelling cache_name_make() writes (upper-case hex, escaped dots...). */
    char check[CACHE_NAME_BUF];
    return cache_name_make(key, check) > 0 && strcmp(check, name) == 0;
}

int cache_name_is_hashed(const char *name)
{
    const char *t = strrchr(name, '~');
    if (!t || strlen(t) != CACHE_NAME_HASH_LEN)
        return 0;
    for (const char *p = t + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    for (const char *p = name; p < t; p++)
        if (!safe_char((unsigned char)*p) && *p != '%')
            return 0;
    return 1;
}
