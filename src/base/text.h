/*
 * src/base/text.h - a growing NUL-terminated text: what is written up as it
 * goes (a config file rewritten, a user described as ACL rules), then
 * taken whole. Empty is {0}; text_take() of an empty text gives "".
 */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

struct text {
    char *p; /* NUL-terminated once anything was put; NULL before */
    size_t len, cap;
};

/* Appends s[0..n); aborts when memory runs out (src/base/util.h). */
void text_put(struct text *t, const char *s, size_t n);
void text_puts(struct text *t, const char *s);
/* The text, malloc'd (the caller frees it); t is empty after. */
char *text_take(struct text *t);

#endif
