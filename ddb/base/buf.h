/* A growable byte buffer with a size cap (after curl's dynbuf).
 *
 * The bytes are always followed by a NUL that len does not count, so buf_str() is a C string.
 * Ownership: the struct is embedded by its user; buf_init() cannot fail and allocates nothing;
 * buf_cleanup() frees the bytes. */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

enum buf_err {
    BUF_OK = 0,
    BUF_ENOMEM,  /* allocation failed */
    BUF_ETOOBIG, /* the cap given to buf_init() would be passed */
};

struct buf {
    char *data; /* NULL until something is added */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* the cap on len */
};

void buf_init(struct buf *b, size_t max);
void buf_cleanup(struct buf *b);
/* Empties the buffer and keeps its memory. */
void buf_reset(struct buf *b);

enum buf_err buf_add(struct buf *b, const void *p, size_t n);
enum buf_err buf_addstr(struct buf *b, const char *s);
enum buf_err buf_addc(struct buf *b, char c);
enum buf_err buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum buf_err buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Makes room for n more bytes without adding them. */
enum buf_err buf_reserve(struct buf *b, size_t n);

/* Borrowed: valid until the next change to b. Never NULL ("" when empty). */
const char *buf_str(const struct buf *b);
/* Hands the bytes to the caller (free() them) and leaves b empty. May be NULL when empty. */
char *buf_detach(struct buf *b, size_t *len);

const char *buf_strerror(enum buf_err e);

#endif
