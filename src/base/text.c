/*
 * src/base/text.c - the growing text (src/base/text.h).
 */
#include <string.h>

#include "base/text.h"
#include "base/util.h"

void text_put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = util_xrealloc(t->p, t->cap);
    }
    if (n) memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void text_puts(struct text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

char *text_take(struct text *t)
{
    if (!t->p) text_put(t, "", 0);
    char *p = t->p;
    t->p = NULL;
    t->len = t->cap = 0;
    return p;
}
