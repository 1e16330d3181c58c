/*
 * src/base/info.c - building INFO-style text (see info.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/info.h"
#include "base/util.h"

void info_addf(struct info_text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* An empty text has p == NULL: no offset may be applied to it. */
        char *end = t->p ? t->p + t->len : NULL;
        int n = vsnprintf(end, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = (t->cap + (size_t)(n > 0 ? n : 0) + 256) * 2;
        t->p = util_xrealloc(t->p, t->cap);
    }
}
