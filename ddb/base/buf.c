#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

enum buf_err buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return BUF_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return BUF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

enum buf_err buf_add(struct buf *b, const void *p, size_t n)
{
    enum buf_err e = buf_reserve(b, n);
    if (e)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BUF_OK;
}

enum buf_err buf_addstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

enum buf_err buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

enum buf_err buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return BUF_ENOMEM;
    enum buf_err e = buf_reserve(b, (size_t)n);
    if (e)
        return e;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return BUF_OK;
}

enum buf_err buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum buf_err e = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return e;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *buf_strerror(enum buf_err e)
{
    switch (e) {
    case BUF_OK:
        return "success";
    case BUF_ENOMEM:
        return "out of memory";
    case BUF_ETOOBIG:
        return "size limit exceeded";
    }
    return "unknown buffer error";
}
