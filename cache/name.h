/* Private to cache/: snapshot keys <-> file names in the store's directory.
 *
 * A key is escaped into one name: [A-Za-z0-9._-] stay, every other byte becomes %XX (so '/' can
 * never leave the directory), and so does a '.' that would start the name (no ".", "..", hidden
 * files, or the store's ".lock") or start a ".part" suffix (no key's name is another key's partial
 * file). A name whose readable part would pass CACHE_NAME_READABLE_MAX keeps a prefix of it and
 * ends in "~" and a 128-bit hash of the key, so that every name fits NAME_MAX with ".part": '~' is
 * never in an escaped name, and the key of such a name cannot be recovered from it. */
#ifndef CACHE_NAME_H
#define CACHE_NAME_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_NAME_READABLE_MAX 200
#define CACHE_NAME_HASH_LEN 33 /* "~" and 32 hex digits */
#define CACHE_NAME_BUF (CACHE_NAME_READABLE_MAX + CACHE_NAME_HASH_LEN + 1)
#define CACHE_NAME_PART ".part"
#define CACHE_NAME_PART_LEN 5

/* Writes key's file name into out. Returns its length; 0 for an empty key. */
size_t cache_name_make(const char *key, char out[CACHE_NAME_BUF]);
/* Writes the key whose name is name into key. Returns 1, or 0 when cache_name_make() makes name
 * from no key (hashed names, foreign files). */
int cache_name_parse(const char *name, char key[CACHE_NAME_BUF]);
/* 1 when name is one that cache_name_make() made for a long key. */
int cache_name_is_hashed(const char *name);
/* FNV-1a of a C string, from basis (0 for the usual one). */
uint64_t cache_name_hash(const char *s, uint64_t basis);

#endif
