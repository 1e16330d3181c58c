/*
 * src/config/config_int.h - private to src/config*.c: the helpers config.c (the
 * directive table), config_special.c (its multi-word values), config_set.c
 * (CONFIG SET/GET) and config_load.c (config files, include, the command
 * line) share. Nothing outside src/config*.c includes it; the
 * module's interface is config.h.
 */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include <stddef.h>

#include "config/config.h"

/* Room for one refusal reason: callers format it into their own message. */
#define CONFIG_REASON_MAX 512

/* A CONFIG_SPECIAL directive's parser, formatter and, when it owns
 * memory, its release. */
typedef int special_set_fn(struct config *c, const struct config_def *d, int argc,
                           const char *const *argv, char *err, size_t errlen);
typedef int special_format_fn(const struct config *c, const struct config_def *d, char *buf,
                              size_t len);

struct config_special {
    special_set_fn *set;
    special_format_fn *format;
    void (*free)(struct config *c); /* NULL when the directive owns no memory */
};

/* config_special.c's parsers, one per CONFIG_SPECIAL row of config.c's
 * table. config_fixed_special is a Redis directive of which one value is
 * implemented (default_text): any other is refused with "only ... is
 * accepted: " and the row's doc. */
extern const struct config_special config_bind_special, config_members_special, config_obuf_special,
    config_fixed_special, config_perm_special, config_notify_special, config_percentiles_special,
    config_user_special, config_rename_special;
int config_format_fixed(const struct config *c, const struct config_def *d, char *buf, size_t len);

/* config_special.c's checks of single-value directives (struct
 * config_def's check): 0, or nonzero with the reason in err. */
int config_check_advertise(const char *v, char *err, size_t errlen);
int config_check_sentinel_name(const char *v, char *err, size_t errlen);
int config_check_dir(const char *v, char *err, size_t errlen);
int config_check_dbfilename(const char *v, char *err, size_t errlen);
/* tls-protocols: words among TLSv1 TLSv1.1 TLSv1.2 TLSv1.3, any case. */
int config_check_tls_protocols(const char *v, char *err, size_t errlen);

/* A memory value as Redis's memtoull reads it (no sign): 1 and *out, or 0. */
int config_parse_memory(const char *v, long long *out);

/* strdup that aborts on out of memory (util_xmalloc). */
char *config_xstrdup(const char *s);

/* An snprintf-like appender over buf[len]: n counts what would be written
 * past the end, so the formatters can report the full length as
 * config_format_value() says. */
struct config_out {
    char *buf;
    size_t len, n;
};

/* d's formatted value in malloc'd memory (the caller frees it; values
 * have no length limit); *lenp gets its length (a secret may hold NUL
 * bytes). */
char *config_format_alloc(const struct config *c, const struct config_def *d, size_t *lenp);

/* An empty appender (buf gets "" when len > 0). */
struct config_out config_out_start(char *buf, size_t len);
void __attribute__((format(printf, 2, 3)))
config_out_printf(struct config_out *o, const char *fmt, ...);

/* The words of one line, in one buffer (unescaping never lengthens a word).
 * Each word is NUL-terminated, but "\x00" puts a NUL inside one: lens[i]
 * is argv[i]'s true length. */
struct config_words {
    int argc;
    char *argv[CONFIG_ARGS_MAX];
    size_t lens[CONFIG_ARGS_MAX];
    char *buf; /* owned: release with config_words_free() */
};

/*
 * Splits s into w as Redis's sdssplitargs reads a line (the quoting config.h
 * describes for config_load_file()). Returns 0, or CONFIG_ERR_VALUE on bad
 * quoting or more than CONFIG_ARGS_MAX words. w must be released with
 * config_words_free() whatever this returns.
 */
int config_split_words(const char *s, struct config_words *w, char *err, size_t errlen);
void config_words_free(struct config_words *w);

/*
 * Sets directive d from its arguments argv[0..argc) (without its name), of
 * lengths lens[0..argc) (NULL: NUL-terminated strings). The one way a value
 * gets in: defaults, file lines, command-line overrides, CONFIG SET and its
 * rollback. All-or-nothing: on failure (CONFIG_ERR_VALUE, reason in err) d
 * keeps its value. Only a CONFIG_SECRET takes a NUL byte inside its value.
 * A single non-empty word for a CONFIG_MULTI_ARG directive is split first.
 */
int config_set_words(struct config *c, const struct config_def *d, int argc,
                     const char *const *argv, const size_t *lens, char *err, size_t errlen);

#endif
