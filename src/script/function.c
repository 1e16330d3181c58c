/*
 * src/script/function.c - the library registry (see function.h): parsing a
 * library's shebang line, loading, deleting and replacing libraries all
 * or nothing, and the FUNCTION DUMP payload.
 *
 * A load follows Redis's order, so the same code fails with the same
 * error: the shebang line, the library's name, the engine, an existing
 * library of that name, then the code itself (src/script/script_function.c),
 * then collisions of its function names with other libraries'.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "raft/raft_assert.h"
#include "base/checksum.h"
#include "script/function.h"
#include "base/le.h"
#include "script/script.h"
#include "base/util.h"

#define DICT_SEED 0xf0c7105eedULL /* fixed: libraries are few and come through the log */
#define ERR_BAD_NAME                                                                               \
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "       \
    "least one character long"

struct function_registry *function_registry_new(struct script_engine *e)
{
    struct function_registry *r = util_xcalloc(1, sizeof *r);
    r->engine = e;
    dict_init(&r->libs, DICT_SEED);
    dict_init(&r->fns, DICT_SEED + 1);
    return r;
}

/* --- names --- */

/* A function's key in r->fns: its name in lower case, in buf when it fits
 * (else allocated: the caller frees what is not buf). */
#define KEY_BUF 128
static char *lower_key(char *buf, const char *name, size_t len)
{
    char *k = len < KEY_BUF ? buf : util_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        k[i] = (char)tolower((unsigned char)name[i]);
    k[len] = '\0';
    return k;
}

const struct script_lib_fn *function_find(const struct function_registry *r, const char *name,
                                          size_t len)
{
    char buf[KEY_BUF];
    char *k = lower_key(buf, name, len);
    struct dict_entry *de = dict_peek(&r->fns, k, len);
    if (k != buf) free(k);
    return de ? de->val : NULL;
}

static struct function_lib *find_lib(const struct function_registry *r, const char *name,
                                     size_t len)
{
    struct dict_entry *de = dict_peek(&r->libs, name, len);
    return de ? de->val : NULL;
}

/* --- linking libraries in and out --- */

static void link_lib(struct function_registry *r, struct function_lib *lib)
{
    struct dict_entry *added = dict_add(&r->libs, lib->name, strlen(lib->name), lib, NULL);
    ASSERT(added);
    for (size_t i = 0; i < lib->nfns; i++) {
        char buf[KEY_BUF];
        size_t len = strlen(lib->fns[i].name);
        char *k = lower_key(buf, lib->fns[i].name, len);
        added = dict_add(&r->fns, k, len, &lib->fns[i], NULL);
        ASSERT(added);
        if (k != buf) free(k);
    }
    r->nfns += lib->nfns;
}

static void unlink_lib(struct function_registry *r, struct function_lib *lib)
{
    for (size_t i = 0; i < lib->nfns; i++) {
        char buf[KEY_BUF];
        size_t len = strlen(lib->fns[i].name);
        char *k = lower_key(buf, lib->fns[i].name, len);
        int deleted = dict_delete(&r->fns, k, len, NULL);
        ASSERT(deleted);
        if (k != buf) free(k);
    }
    int deleted = dict_delete(&r->libs, lib->name, strlen(lib->name), NULL);
    ASSERT(deleted);
    r->nfns -= lib->nfns;
}

static void lib_free(struct script_engine *e, struct function_lib *lib)
{
    for (size_t i = 0; i < lib->nfns; i++)
        script_lib_fn_free(e, &lib->fns[i]);
    free(lib->fns);
    free(lib->name);
    free(lib->code);
    free(lib);
}

/* The first function of lib that r has already, or NULL. */
static const char *colliding_fn(const struct function_registry *r, const struct function_lib *lib)
{
    for (size_t i = 0; i < lib->nfns; i++)
        if (function_find(r, lib->fns[i].name, strlen(lib->fns[i].name))) return lib->fns[i].name;
    return NULL;
}

struct lib_list {
    struct function_lib **v;
    size_t n;
};

static void collect_visit(void *ud, struct dict_entry *de)
{
    struct lib_list *l = ud;
    l->v[l->n++] = de->val;
}

/* Every library of r, in an array the caller frees. */
static struct lib_list all_libs(const struct function_registry *r)
{
    struct lib_list l = {util_xcalloc(dict_size(&r->libs) + 1, sizeof *l.v), 0};
    dict_foreach((struct dict *)&r->libs, collect_visit, &l);
    return l;
}

void function_flush(struct function_registry *r)
{
    struct lib_list l = all_libs(r);
    for (size_t i = 0; i < l.n; i++) {
        unlink_lib(r, l.v[i]);
        lib_free(r->engine, l.v[i]);
    }
    free(l.v);
    ASSERT(dict_size(&r->fns) == 0 && r->nfns == 0);
}

void function_registry_free(struct function_registry *r)
{
    if (!r) return;
    function_flush(r);
    dict_free(&r->libs, NULL);
    dict_free(&r->fns, NULL);
    free(r);
}

int function_delete(struct function_registry *r, const char *name, size_t len)
{
    struct function_lib *lib = find_lib(r, name, len);
    if (!lib) return -1;
    unlink_lib(r, lib);
    lib_free(r->engine, lib);
    return 0;
}

size_t function_lib_count(const struct function_registry *r)
{
    return (size_t)dict_size(&r->libs);
}

size_t function_fn_count(const struct function_registry *r)
{
    return r->nfns;
}

/* --- the shebang line --- */

/* The next word of s[*i..n) into out (its length in *olen), read as Redis
 * reads a line of arguments: "..." takes \-escapes (\n \r \t \b \a \xHH),
 * '...' takes \', and a closing quote must end the word. 1, 0 when there
 * is none left, -1 when the quoting is broken. out has room for n bytes. */
static int next_word(const char *s, size_t n, size_t *i, char *out, size_t *olen)
{
    size_t p = *i, o = 0;
    while (p < n && isspace((unsigned char)s[p]))
        p++;
    if (p == n) return 0;
    char quote = 0;
    for (;; p++) {
        if (p == n) {
            if (quote) return -1;
            break;
        }
        char ch = s[p];
        if (!quote) {
            if (isspace((unsigned char)ch)) break;
            if (ch == '"' || ch == '\'')
                quote = ch;
            else
                out[o++] = ch;
            continue;
        }
        if (ch == quote) {
            if (p + 1 < n && !isspace((unsigned char)s[p + 1])) return -1;
            quote = 0;
            p++;
            break;
        }
        if (ch == '\\' && p + 1 < n && quote == '\'' && s[p + 1] == '\'') {
            out[o++] = s[++p];
        } else if (ch == '\\' && p + 3 < n && quote == '"' && s[p + 1] == 'x' &&
                   isxdigit((unsigned char)s[p + 2]) && isxdigit((unsigned char)s[p + 3])) {
            char hex[3] = {s[p + 2], s[p + 3], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            p += 3;
        } else if (ch == '\\' && p + 1 < n && quote == '"') {
            const char *from = "nrtba", *to = "\n\r\t\b\a";
            const char *at = strchr(from, s[++p]);
            out[o++] = at && s[p] ? to[at - from] : s[p];
        } else {
            out[o++] = ch;
        }
    }
    *i = p;
    *olen = o;
    return 1;
}

/* What a shebang line says. engine and name point into buf (the caller
 * frees buf); body is the offset of the line's newline. */
struct lib_meta {
    char *buf;
    const char *engine, *name;
    size_t engine_len, name_len, body;
};

/* Parses code's shebang line into *m; 0, or -1 with Redis's error. */
static int parse_meta(const char *code, size_t len, struct lib_meta *m, struct resp_out *err)
{
    if (len < 2 || memcmp(code, "#!", 2) != 0) {
        resp_add_error(err, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        resp_add_error(err, "ERR Invalid library metadata");
        return -1;
    }
    size_t line = (size_t)(nl - code), i = 0, wlen;
    char *w = m->buf = util_xmalloc(2 * line + 2);
    if (next_word(code, line, &i, w, &wlen) != 1) {
        resp_add_error(err, "ERR Invalid library metadata");
        return -1;
    }
    m->engine = w + 2;
    m->engine_len = wlen - 2;
    m->body = line;
    for (w += wlen + 1;; w += wlen + 1) {
        int got = next_word(code, line, &i, w, &wlen);
        if (got == 0) break;
        if (got < 0) {
            resp_add_error(err, "ERR Invalid library metadata");
            return -1;
        }
        w[wlen] = '\0';
        if (wlen < 5 || strncasecmp(w, "name=", 5) != 0) {
            resp_add_errorf(err, "ERR Invalid metadata value given: %s", w);
            return -1;
        }
        if (m->name) {
            resp_add_error(err,
                           "ERR Invalid metadata value, name argument was given multiple times");
            return -1;
        }
        m->name = w + 5;
        m->name_len = wlen - 5;
    }
    if (!m->name) {
        resp_add_error(err, "ERR Library name was not given");
        return -1;
    }
    return 0;
}

/* --- loading --- */

/* Checks the metadata against r (name, engine, an existing library). 0, or
 * -1 with the error. */
static int check_meta(const struct function_registry *r, const struct lib_meta *m, int replace,
                      struct resp_out *err)
{
    if (!script_name_valid(m->name, m->name_len)) {
        resp_add_error(err, ERR_BAD_NAME);
        return -1;
    }
    if (m->engine_len != 3 || strncasecmp(m->engine, "lua", 3) != 0) {
        resp_add_errorf(err, "ERR Engine '%.*s' not found",
                        (int)(m->engine_len > 128 ? 128 : m->engine_len), m->engine);
        return -1;
    }
    if (!replace && find_lib(r, m->name, m->name_len)) {
        resp_add_errorf(err, "ERR Library '%.*s' already exists", (int)m->name_len, m->name);
        return -1;
    }
    return 0;
}

static struct function_lib *new_lib(const struct lib_meta *m, const char *code, size_t len)
{
    struct function_lib *lib = util_xcalloc(1, sizeof *lib);
    lib->name = util_xmalloc(m->name_len + 1);
    memcpy(lib->name, m->name, m->name_len);
    lib->name[m->name_len] = '\0';
    lib->code = util_xmalloc(len + 1);
    memcpy(lib->code, code, len);
    lib->code[len] = '\0';
    lib->code_len = len;
    return lib;
}

int function_load(struct function_registry *r, const char *code, size_t len, int replace,
                  struct resp_out *err_out, const char **name_out)
{
    struct lib_meta m = {0};
    int rc = parse_meta(code, len, &m, err_out);
    if (rc == 0) rc = check_meta(r, &m, replace, err_out);
    if (rc < 0) {
        free(m.buf);
        return -1;
    }
    struct function_lib *lib = new_lib(&m, code, len);
    free(m.buf);
    if (script_library_run(r->engine, code + m.body, len - m.body, &lib->fns, &lib->nfns, err_out) <
        0) {
        lib_free(r->engine, lib);
        return -1;
    }
    struct function_lib *old = find_lib(r, lib->name, strlen(lib->name));
    if (old) unlink_lib(r, old);
    const char *clash = colliding_fn(r, lib);
    if (clash) {
        resp_add_errorf(err_out, "ERR Function %s already exists", clash);
        if (old) link_lib(r, old);
        lib_free(r->engine, lib);
        return -1;
    }
    link_lib(r, lib);
    if (old) lib_free(r->engine, old);
    if (name_out) *name_out = lib->name;
    return 0;
}

int function_load_code(struct function_registry *r, const char *code, size_t len, int replace,
                       struct resp_out *err_out)
{
    return function_load(r, code, len, replace, err_out, NULL);
}

/* --- iterating --- */

struct each_ctx {
    int (*fn)(void *ud, const char *code, size_t len);
    void (*lib_fn)(void *ud, const struct function_lib *lib);
    void *ud;
    int stop;
};

static void each_visit(void *ud, struct dict_entry *de)
{
    struct each_ctx *c = ud;
    const struct function_lib *lib = de->val;
    if (c->lib_fn)
        c->lib_fn(c->ud, lib);
    else if (!c->stop)
        c->stop = c->fn(c->ud, lib->code, lib->code_len);
}

int function_each_library(const struct function_registry *r,
                          int (*fn)(void *ud, const char *code, size_t len), void *ud)
{
    struct each_ctx c = {fn, NULL, ud, 0};
    dict_foreach((struct dict *)&r->libs, each_visit, &c);
    return c.stop;
}

void function_each_lib(const struct function_registry *r,
                       void (*fn)(void *ud, const struct function_lib *lib), void *ud)
{
    struct each_ctx c = {NULL, fn, ud, 0};
    dict_foreach((struct dict *)&r->libs, each_visit, &c);
}

/* --- DUMP and RESTORE --- */

/* The payload: "RCFN", a format version byte, the number of libraries
 * (32 bits), each library's code length (32 bits) and code, then the
 * checksum (src/base/checksum.h, 64 bits) of everything before it; integers
 * little-endian. */
#define DUMP_MAGIC "RCFN"
#define DUMP_VERSION 1
#define DUMP_HEAD 9
#define DUMP_TAIL 8

struct dump_buf {
    char *p;
    size_t len, cap;
};

static void dump_put(struct dump_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = 2 * (b->len + n);
        b->p = util_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static int dump_visit(void *ud, const char *code, size_t len)
{
    unsigned char n[4];
    ASSERT(len <= UINT32_MAX);
    le_put32(n, (uint32_t)len);
    dump_put(ud, n, 4);
    dump_put(ud, code, len);
    return 0;
}

char *function_dump(const struct function_registry *r, size_t *len)
{
    struct dump_buf b = {0};
    unsigned char head[DUMP_HEAD] = {'R', 'C', 'F', 'N', DUMP_VERSION};
    le_put32(head + 5, (uint32_t)function_lib_count(r));
    dump_put(&b, head, DUMP_HEAD);
    function_each_library(r, dump_visit, &b);
    struct checksum c;
    checksum_init(&c);
    checksum_update(&c, b.p, b.len);
    unsigned char sum[DUMP_TAIL];
    le_put64(sum, checksum_final(&c));
    dump_put(&b, sum, DUMP_TAIL);
    *len = b.len;
    return b.p;
}

/* Loads the payload's libraries into r (empty): 0, or -1 with the error. */
static int undump(struct function_registry *r, const char *p, size_t len, struct resp_out *err)
{
    const unsigned char *u = (const unsigned char *)p;
    struct checksum c;
    checksum_init(&c);
    if (len >= DUMP_HEAD + DUMP_TAIL) checksum_update(&c, p, len - DUMP_TAIL);
    if (len < DUMP_HEAD + DUMP_TAIL || memcmp(p, DUMP_MAGIC, 4) != 0 || u[4] != DUMP_VERSION ||
        le_get64(u + len - DUMP_TAIL) != checksum_final(&c)) {
        resp_add_error(err, "ERR DUMP payload version or checksum are wrong");
        return -1;
    }
    uint32_t count = le_get32(u + 5);
    size_t at = DUMP_HEAD, end = len - DUMP_TAIL;
    for (uint32_t i = 0; i < count; i++) {
        if (end - at < 4 || end - at - 4 < le_get32(u + at)) {
            resp_add_error(err, "ERR failed loading the given functions payload");
            return -1;
        }
        size_t n = le_get32(u + at);
        if (function_load(r, p + at + 4, n, 0, err, NULL) < 0) return -1;
        at += 4 + n;
    }
    if (at != end) {
        resp_add_error(err, "ERR failed loading the given functions payload");
        return -1;
    }
    return 0;
}

/* Moves src's libraries into dst, replacing dst's of the same names when
 * replace is set; all or nothing (Redis's order of checks). */
static int join(struct function_registry *dst, struct function_registry *src, int replace,
                struct resp_out *err)
{
    struct lib_list l = all_libs(src);
    struct function_lib **old = util_xcalloc(l.n + 1, sizeof *old);
    size_t nold = 0;
    int rc = -1;
    for (size_t i = 0; i < l.n; i++) {
        struct function_lib *o = find_lib(dst, l.v[i]->name, strlen(l.v[i]->name));
        if (!o) continue;
        if (!replace) {
            resp_add_errorf(err, "ERR Library %s already exists", o->name);
            goto undo;
        }
        unlink_lib(dst, o);
        old[nold++] = o;
    }
    for (size_t i = 0; i < l.n; i++) {
        const char *clash = colliding_fn(dst, l.v[i]);
        if (clash) {
            resp_add_errorf(err, "ERR Function %s already exists", clash);
            goto undo;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        unlink_lib(src, l.v[i]);
        link_lib(dst, l.v[i]);
    }
    for (size_t i = 0; i < nold; i++)
        lib_free(dst->engine, old[i]);
    rc = 0;
    nold = 0;
undo:
    for (size_t i = 0; i < nold; i++)
        link_lib(dst, old[i]);
    free(old);
    free(l.v);
    return rc;
}

int function_restore(struct function_registry *r, const char *payload, size_t len,
                     enum function_restore_policy policy, struct resp_out *err_out)
{
    struct function_registry *tmp = function_registry_new(r->engine);
    int rc = undump(tmp, payload, len, err_out);
    if (rc == 0 && policy == FUNCTION_RESTORE_FLUSH) function_flush(r);
    if (rc == 0) rc = join(r, tmp, policy == FUNCTION_RESTORE_REPLACE, err_out);
    function_registry_free(tmp);
    return rc;
}
