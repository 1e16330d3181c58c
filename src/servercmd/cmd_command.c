/*
 * src/servercmd/cmd_command.c - COMMAND and its subcommands: the command table as
 * clients read it (redis-py's cluster client, redis-cli hints, tooling).
 *
 * Everything is derived from cmd_table (src/servercmd/cmdtable.c); nothing here is a
 * second copy of what the table says.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "server/dispatch.h"
#include "base/glob.h"
#include "server/server.h"
#include "raft/raft_assert.h"
#include "cmd/cmdarg.h"

#define GETKEYS_MAX 4096 /* keys COMMAND GETKEYS lists at most */

static int arg_is(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_FAST, "fast"},
    {CMD_NOAUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"}, /* may_replicate is hidden, as in Redis */
    {CMD_NO_MULTI, "no_multi"},
    {CMD_BLOCKING, "blocking"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};

static void add_flags(struct resp_out *o, const struct command *cmd)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (!(cmd->flags & flag_names[i].flag)) continue;
        resp_add_simple(o, flag_names[i].name);
        n++;
    }
    if (cmd->getkeys) { /* its keys are found by parsing its arguments */
        resp_add_simple(o, "movablekeys");
        n++;
    }
    resp_set_deferred_set_len(o, d, n);
}

/* Redis 7.0's command tips for what the flags say about the reply. */
static void add_tips(struct resp_out *o, const struct command *cmd)
{
    long n = !!(cmd->flags & CMD_RANDOM) + !!(cmd->flags & CMD_UNORDERED);
    resp_add_set_len(o, n);
    if (cmd->flags & CMD_RANDOM) resp_add_simple(o, "nondeterministic_output");
    if (cmd->flags & CMD_UNORDERED) resp_add_simple(o, "nondeterministic_output_order");
}

/* ACL categories: the table's space-separated words, each as "@word". */
static void add_acl(struct resp_out *o, const struct command *cmd)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    const char *p = cmd->acl ? cmd->acl : "";
    while (*p) {
        size_t len = strcspn(p, " ");
        char word[40];
        if (len > 0 && len < sizeof word - 1) {
            word[0] = '@';
            memcpy(word + 1, p, len);
            word[len + 1] = 0;
            resp_add_simple(o, word);
            n++;
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    resp_set_deferred_set_len(o, d, n);
}

/* The n-th spec's flags in cmd's key_flags ("RW access|RO"), the last
 * one's past the end; without key_flags, RW for a write, RO otherwise. */
static void spec_flags(const struct command *cmd, int n, const char **p, size_t *len)
{
    const char *s = cmd->key_flags;
    if (!s) {
        *p = (cmd->flags & CMD_WRITE) ? "RW" : "RO";
        *len = 2;
        return;
    }
    for (const char *bar; n > 0 && (bar = strchr(s, '|')) != NULL; n--)
        s = bar + 1;
    *p = s;
    *len = strcspn(s, "|");
}

/* How many specs cmd's key_flags describes (1 without it). */
static int spec_count(const struct command *cmd)
{
    int n = 1;
    for (const char *s = cmd->key_flags; s && (s = strchr(s, '|')) != NULL; s++)
        n++;
    return n;
}

/* The words of p[0..len) as a set of simple strings, plus "incomplete". */
static void add_words(struct resp_out *o, const char *p, size_t len, int incomplete)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    for (size_t i = 0; i < len;) {
        size_t w = strcspn(p + i, " |");
        if (w > len - i) w = len - i;
        char word[32];
        if (w > 0 && w < sizeof word) {
            memcpy(word, p + i, w);
            word[w] = 0;
            resp_add_simple(o, word);
            n++;
        }
        i += w + 1;
    }
    if (incomplete) {
        resp_add_simple(o, "incomplete");
        n++;
    }
    resp_set_deferred_set_len(o, d, n);
}

/* A key spec's begin_search or find_keys: {type, spec: {k1: v1, ...}}. */
static void add_search(struct resp_out *o, const char *type, int n, const char *const *k,
                       const long long *v)
{
    resp_add_map_len(o, 2);
    resp_add_bulk_cstr(o, "type");
    resp_add_bulk_cstr(o, type);
    resp_add_bulk_cstr(o, "spec");
    resp_add_map_len(o, n);
    for (int i = 0; i < n; i++) {
        resp_add_bulk_cstr(o, k[i]);
        resp_add_int(o, v[i]);
    }
}

/* Spec i of n, from the row's key positions: one key each, the last spec
 * the rest of them (first_key..last_key by key_step); unknown, with
 * "incomplete", where a hook finds the keys (COMMAND GETKEYS can). */
static void add_key_spec(struct resp_out *o, const struct command *cmd, int i, int n)
{
    const char *p;
    size_t len;
    spec_flags(cmd, i, &p, &len);
    resp_add_map_len(o, 3);
    resp_add_bulk_cstr(o, "flags");
    add_words(o, p, len, cmd->getkeys != NULL);
    resp_add_bulk_cstr(o, "begin_search");
    if (cmd->getkeys) {
        add_search(o, "unknown", 0, NULL, NULL);
        resp_add_bulk_cstr(o, "find_keys");
        add_search(o, "unknown", 0, NULL, NULL);
        return;
    }
    static const char *const index_k[] = {"index"}, *const range_k[] = {"lastkey", "keystep",
                                                                        "limit"};
    long long first = cmd->first_key + (long long)i * cmd->key_step;
    long long last = i < n - 1 ? 0 : cmd->last_key < 0 ? cmd->last_key : cmd->last_key - first;
    long long index_v[] = {first}, range_v[] = {last, cmd->key_step, 0};
    add_search(o, "index", 1, index_k, index_v);
    resp_add_bulk_cstr(o, "find_keys");
    add_search(o, "range", 3, range_k, range_v);
}

/* Redis 7.0's key specs: none for a keyless command. */
static void add_key_specs(struct resp_out *o, const struct command *cmd)
{
    int n = cmd_is_keyless(cmd) ? 0 : spec_count(cmd);
    resp_add_set_len(o, n);
    for (int i = 0; i < n; i++)
        add_key_spec(o, cmd, i, n);
}

static void add_command_info(struct resp_out *o, const struct command *cmd)
{
    resp_add_array_len(o, 10);
    resp_add_bulk_cstr(o, cmd->name);
    resp_add_int(o, cmd->arity);
    add_flags(o, cmd);
    resp_add_int(o, cmd->first_key);
    resp_add_int(o, cmd->last_key);
    resp_add_int(o, cmd->key_step);
    add_acl(o, cmd);
    add_tips(o, cmd);
    add_key_specs(o, cmd);
    long nsub = 0;
    for (const struct command *s = cmd->subcommands; s && s->name; s++)
        nsub++;
    resp_add_array_len(o, nsub);
    for (const struct command *s = cmd->subcommands; s && s->name; s++)
        add_command_info(o, s);
}

/* rename-command (src/cmd/rename.h): the names this node's clients call
 * commands by. COMMAND lists a renamed command under its own name, as
 * Redis does, and leaves out one taken away; a name is looked up as the
 * clients call it. */
static const struct cmd_renames *renames(const struct cmd_ctx *c)
{
    static const struct cmd_renames none;
    return c->srv ? &c->srv->renames : &none;
}

/* 1 if COMMAND shows the command (or subcommand) cmd. */
static int shown(const struct cmd_ctx *c, const struct command *cmd)
{
    if (cmd->flags & CMD_INTERNAL) return 0;
    const char *bar = strchr(cmd->name, '|');
    const struct command *top = bar ? cmd_lookup_name(cmd->name, (size_t)(bar - cmd->name)) : cmd;
    return top && cmd_renames_callable(renames(c), top);
}

/* The top-level command a client calls name: internal ones are not found. */
static const struct command *find_top(const struct cmd_ctx *c, const char *name, size_t len)
{
    const struct command *cmd = cmd_renames_find(renames(c), name, len);
    return cmd && !(cmd->flags & CMD_INTERNAL) ? cmd : NULL;
}

void cmd_command(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, cmd_renames_count(renames(c)));
    for (int i = 0; i < cmd_top_count(); i++)
        if (shown(c, cmd_by_id(i))) add_command_info(c->out, cmd_by_id(i));
}

void cmd_command_count(struct cmd_ctx *c)
{
    resp_add_int(c->out, cmd_renames_count(renames(c)));
}

/* Finds "name" or "container|sub" by its full name, as clients call the
 * command; internal commands are not found. */
static const struct command *find_full_name(const struct cmd_ctx *c, const struct resp_arg *a)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    if (!bar) return find_top(c, a->ptr, a->len);
    const struct command *parent = find_top(c, a->ptr, (size_t)(bar - a->ptr));
    if (!parent) return NULL;
    size_t plen = strlen(parent->name);
    size_t sublen = a->len - (size_t)(bar - a->ptr);
    for (const struct command *s = parent->subcommands; s && s->name; s++)
        if (strlen(s->name) == plen + sublen && strncasecmp(s->name + plen, bar, sublen) == 0)
            return s;
    return NULL;
}

void cmd_command_info(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    resp_add_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = find_full_name(c, &c->argv[i]);
        if (cmd)
            add_command_info(c->out, cmd);
        else
            resp_add_null_array(c->out);
    }
}

/* ---- COMMAND DOCS "arguments", parsed from the table's syntax strings ----
 *
 * The notation is documented with struct command's syntax field (cmd.h); the
 * result is Redis 7.0's argument maps, which redis-cli 7.0 shows as hints. The
 * input is our own static table, so a malformed string is a programmer error
 * (assert); the parse still has hard limits (nodes, items per sequence), and
 * its recursion is bounded by the group nesting limit ARG_DEPTH_MAX. */

/* Scalar types first: "name:type" may name those. */
enum arg_type {
    ARG_KEY,
    ARG_STRING,
    ARG_INTEGER,
    ARG_DOUBLE,
    ARG_PATTERN,
    ARG_UNIX_TIME,
    ARG_PURE_TOKEN,
    ARG_ONEOF,
    ARG_BLOCK
};
static const char *const arg_type_names[] = {
    "key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block"};
enum { ARG_OPTIONAL = 1, ARG_MULTIPLE = 2, ARG_MULTIPLE_TOKEN = 4 };

/* Argument names of a type other than string, each between spaces. */
static const char key_names[] = " key key1 key2 newkey source destination ";
static const char integer_names[] = " seconds milliseconds count offset start end increment "
                                    "decrement cursor index protover client-id destination-db ";

#define ARG_NODES_MAX 48
#define ARG_ITEMS_MAX 12 /* items of one sequence, alternatives of one group */
#define ARG_DEPTH_MAX 6  /* group nesting */
#define ARG_NAME_MAX 64

struct arg {
    char name[ARG_NAME_MAX];
    const char *token; /* into the syntax string, or NULL */
    const char *text;  /* the item as written: "x [x ...]" compares these */
    size_t token_len, text_len;
    enum arg_type type;
    unsigned flags;
    int child, next; /* first member (oneof, block), next sibling; -1 = none */
};

struct arg_tree {
    const char *p; /* parse position */
    int n;
    struct arg node[ARG_NODES_MAX];
};

static int is_word_char(char ch)
{
    return ch && !strchr(" []<>|", ch);
}

/* 1 if " w " occurs in list. */
static int listed(const char *list, const char *w, size_t len)
{
    for (const char *p = list; (p = strchr(p, ' ')) != NULL && p[1]; p++)
        if (strncmp(p + 1, w, len) == 0 && p[len + 1] == ' ') return 1;
    return 0;
}

static enum arg_type infer_type(const char *w, size_t len)
{
    if (len > 10 && strncmp(w, "unix-time-", 10) == 0) return ARG_UNIX_TIME;
    if (len == 7 && strncmp(w, "pattern", 7) == 0) return ARG_PATTERN;
    if (listed(key_names, w, len)) return ARG_KEY;
    return listed(integer_names, w, len) ? ARG_INTEGER : ARG_STRING;
}

/* A token has upper-case letters and no lower-case ones ("NX", "LIB-NAME"). */
static int is_token(const char *w, size_t len)
{
    int upper = 0;
    for (size_t i = 0; i < len; i++) {
        if (islower((unsigned char)w[i])) return 0;
        upper |= isupper((unsigned char)w[i]) != 0;
    }
    return upper;
}

static void set_name(struct arg *a, const char *s, size_t len)
{
    ASSERT(len < ARG_NAME_MAX && "syntax: argument name too long");
    for (size_t i = 0; i < len; i++)
        a->name[i] = (char)tolower((unsigned char)s[i]);
    a->name[len] = 0;
}

static int new_node(struct arg_tree *t, enum arg_type type, const char *text, size_t len)
{
    ASSERT(t->n < ARG_NODES_MAX && "syntax: too many arguments");
    t->node[t->n] =
        (struct arg){.type = type, .text = text, .text_len = len, .child = -1, .next = -1};
    return t->n++;
}

/* A token standing alone so far: it may still go to the item after it. */
static int is_bare_token(const struct arg_tree *t, int i)
{
    return t->node[i].type == ARG_PURE_TOKEN && !t->node[i].flags;
}

static void give_token(struct arg_tree *t, int from, int to)
{
    t->node[to].token = t->node[from].token;
    t->node[to].token_len = t->node[from].token_len;
}

/* A oneof or block over item[0..n), linked as its members. Its name, until a
 * ":name", is theirs joined with '_' (Redis's habit: "parameter_value"). */
static int make_parent(struct arg_tree *t, enum arg_type type, const int *item, int n)
{
    const struct arg *last = &t->node[item[n - 1]];
    const char *text = t->node[item[0]].text;
    int p = new_node(t, type, text, (size_t)(last->text + last->text_len - text));
    struct arg *a = &t->node[p];
    a->child = item[0];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        t->node[item[i]].next = i + 1 < n ? item[i + 1] : -1;
        const char *m = t->node[item[i]].name;
        if (i && len < ARG_NAME_MAX - 1) a->name[len++] = '_';
        while (*m && len < ARG_NAME_MAX - 1)
            a->name[len++] = *m++; /* cut to fit */
    }
    a->name[len] = 0;
    return p;
}

/* One word: a pure token, or an argument with an inferred or ":type" type. */
static int parse_word(struct arg_tree *t)
{
    const char *w = t->p, *colon;
    size_t len = 0;
    while (is_word_char(w[len]))
        len++;
    ASSERT(len > 0 && "syntax: empty item");
    t->p += len;
    int i = new_node(t, is_token(w, len) ? ARG_PURE_TOKEN : infer_type(w, len), w, len);
    if (t->node[i].type == ARG_PURE_TOKEN) {
        t->node[i].token = w;
        t->node[i].token_len = len;
    } else if ((colon = memrchr(w, ':', len)) != NULL) { /* "ip:port" is just a name */
        size_t type_len = (size_t)(w + len - colon - 1);
        for (int k = 0; k < ARG_PURE_TOKEN; k++)
            if (strlen(arg_type_names[k]) == type_len &&
                memcmp(arg_type_names[k], colon + 1, type_len) == 0) {
                t->node[i].type = (enum arg_type)k;
                len = (size_t)(colon - w);
            }
    }
    set_name(&t->node[i], w, len);
    return i;
}

/* A ":name" after a group names it. */
static void parse_name(struct arg_tree *t, int i)
{
    if (*t->p != ':') return;
    const char *s = ++t->p;
    while (is_word_char(*t->p))
        t->p++;
    set_name(&t->node[i], s, (size_t)(t->p - s));
}

/* If the "[" group at t->p is "[x ...]" where x is the text of the last items,
 * marks them repeated (several become one block: "key value [key value ...]"),
 * consumes the group and returns the new item count; else returns -1. A
 * leading token repeats with them ("GET pattern [GET pattern ...]"): it
 * becomes the token of the rest (one item or a block), flagged
 * multiple_token. */
static int parse_repeat(struct arg_tree *t, int *item, int n)
{
    const char *open = t->p, *q = t->p;
    int level = 0;
    do {
        level += (*q == '[' || *q == '<') - (*q == ']' || *q == '>');
        q++;
    } while (level > 0 && *q);
    ASSERT(level == 0 && "syntax: unbalanced group");
    size_t inner = (size_t)(q - open) - 2; /* q is past the closing bracket */
    if (inner < 4 || memcmp(q - 5, " ...", 4) != 0) return -1;
    inner -= 4;
    for (int k = 1; k <= n; k++) {
        const struct arg *first = &t->node[item[n - k]], *last = &t->node[item[n - 1]];
        if ((size_t)(last->text + last->text_len - first->text) != inner ||
            memcmp(first->text, open + 1, inner) != 0)
            continue;
        unsigned flags = ARG_MULTIPLE;
        int tok = k > 1 && is_bare_token(t, item[n - k]) ? item[n - k] : -1;
        if (tok >= 0) {
            if (k > 2) item[n - k + 1] = make_parent(t, ARG_BLOCK, item + n - k + 1, k - 1);
            give_token(t, tok, item[n - k + 1]);
            item[n - k] = item[n - k + 1];
            flags |= ARG_MULTIPLE_TOKEN;
        } else if (k > 1) {
            item[n - k] = make_parent(t, ARG_BLOCK, item + n - k, k);
        }
        n -= k - 1;
        t->node[item[n - 1]].flags |= flags;
        t->p = q;
        return n;
    }
    ASSERT(0 && "syntax: \"[x ...]\" does not repeat the items before it");
    return -1;
}

/* Gives each bare token to the item after it ("EX seconds"); the leading token
 * of a group's alternative takes all the rest as a block ("AUTH user pass").
 * Returns the new item count. */
static int attach_tokens(struct arg_tree *t, int *item, int n, int in_group)
{
    if (in_group && n > 2 && is_bare_token(t, item[0]) && !is_bare_token(t, item[1])) {
        int b = make_parent(t, ARG_BLOCK, item + 1, n - 1);
        give_token(t, item[0], b);
        item[0] = b;
        return 1;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && is_bare_token(t, item[i]) && !is_bare_token(t, item[i + 1]) &&
            !t->node[item[i + 1]].token)
            give_token(t, item[i], item[i + 1]);
        else
            item[m++] = item[i];
    }
    return m;
}

static int parse_group(struct arg_tree *t, int depth);

/* Items up to a '|', a closing bracket or the end go to item[]; returns their
 * count. depth is the group nesting (0 = top level). */
static int parse_seq(struct arg_tree *t, int depth, int *item)
{
    int n = 0, m;
    for (;;) {
        while (*t->p == ' ')
            t->p++;
        char ch = *t->p;
        if (!ch || ch == '|' || ch == ']' || ch == '>') break;
        if (ch == '[' && (m = parse_repeat(t, item, n)) >= 0) {
            n = m;
            parse_name(t, item[n - 1]);
            continue;
        }
        ASSERT(n < ARG_ITEMS_MAX && "syntax: too many items in a sequence");
        item[n++] = ch == '[' || ch == '<' ? parse_group(t, depth + 1) : parse_word(t);
    }
    return attach_tokens(t, item, n, depth > 0);
}

/* "[...]" (optional) or "<...>", then an optional ":name": one node. A group
 * of one item is that item; alternatives make a oneof. */
static int parse_group(struct arg_tree *t, int depth)
{
    ASSERT(depth <= ARG_DEPTH_MAX && "syntax: groups nested too deep");
    const char *start = t->p;
    char close = *t->p == '[' ? ']' : '>';
    int alt[ARG_ITEMS_MAX], nalt = 0;
    do {
        int item[ARG_ITEMS_MAX];
        t->p++; /* past the opening bracket or the '|' */
        int n = parse_seq(t, depth, item);
        ASSERT(n > 0 && nalt < ARG_ITEMS_MAX && "syntax: empty group or too many alternatives");
        alt[nalt++] = n == 1 ? item[0] : make_parent(t, ARG_BLOCK, item, n);
    } while (*t->p == '|');
    ASSERT(*t->p == close && "syntax: unbalanced group");
    t->p++;
    int g = nalt == 1 ? alt[0] : make_parent(t, ARG_ONEOF, alt, nalt);
    if (close == ']') t->node[g].flags |= ARG_OPTIONAL;
    parse_name(t, g);
    t->node[g].text = start;
    t->node[g].text_len = (size_t)(t->p - start);
    return g;
}

/* Parses a syntax string into t; returns the first top-level argument (the
 * top level is a block, so all of them are its members) or -1. */
static int parse_syntax(struct arg_tree *t, const char *syntax)
{
    int item[ARG_ITEMS_MAX];
    t->p = syntax;
    t->n = 0;
    int n = parse_seq(t, 0, item);
    ASSERT(*t->p == '\0' && "syntax: '|' or a closing bracket outside any group");
    return n ? t->node[make_parent(t, ARG_BLOCK, item, n)].child : -1;
}

/* The arguments from first on, as Redis 7.0's COMMAND DOCS argument maps. Each
 * key argument gets the next key spec index (*keys counts them in order). */
static void add_args(struct resp_out *o, const struct arg_tree *t, int first, int depth, int *keys)
{
    ASSERT(depth < ARG_NODES_MAX); /* each level is a distinct node of the tree */
    long n = 0;
    for (int i = first; i >= 0; i = t->node[i].next)
        n++;
    resp_add_array_len(o, n);
    for (int i = first; i >= 0; i = t->node[i].next) {
        const struct arg *a = &t->node[i];
        int nested = a->type == ARG_ONEOF || a->type == ARG_BLOCK;
        resp_add_map_len(o, 2 + (a->type == ARG_KEY) + !!a->token + !!a->flags + nested);
        resp_add_bulk_cstr(o, "name");
        resp_add_bulk_cstr(o, a->name);
        resp_add_bulk_cstr(o, "type");
        resp_add_bulk_cstr(o, arg_type_names[a->type]);
        if (a->type == ARG_KEY) {
            resp_add_bulk_cstr(o, "key_spec_index");
            resp_add_int(o, (*keys)++);
        }
        if (a->token) {
            resp_add_bulk_cstr(o, "token");
            resp_add_bulk(o, a->token, a->token_len);
        }
        if (a->flags) {
            resp_add_bulk_cstr(o, "flags");
            resp_add_set_len(o, (a->flags & ARG_OPTIONAL) + !!(a->flags & ARG_MULTIPLE) +
                                    !!(a->flags & ARG_MULTIPLE_TOKEN));
            if (a->flags & ARG_OPTIONAL) resp_add_simple(o, "optional");
            if (a->flags & ARG_MULTIPLE) resp_add_simple(o, "multiple");
            if (a->flags & ARG_MULTIPLE_TOKEN) resp_add_simple(o, "multiple_token");
        }
        if (!nested) continue;
        resp_add_bulk_cstr(o, "arguments");
        add_args(o, t, a->child, depth + 1, keys);
    }
}

static void add_docs(struct resp_out *o, const struct command *cmd)
{
    long nsub = 0;
    for (const struct command *s = cmd->subcommands; s && s->name; s++)
        nsub++;
    int has_args = cmd->syntax && cmd->syntax[0];
    resp_add_map_len(o, 3 + has_args + !!nsub);
    resp_add_bulk_cstr(o, "summary");
    resp_add_bulk_cstr(o, cmd->summary);
    resp_add_bulk_cstr(o, "since");
    resp_add_bulk_cstr(o, cmd->since);
    resp_add_bulk_cstr(o, "group");
    resp_add_bulk_cstr(o, cmd->group);
    if (has_args) {
        struct arg_tree t;
        int keys = 0;
        resp_add_bulk_cstr(o, "arguments");
        add_args(o, &t, parse_syntax(&t, cmd->syntax), 0, &keys);
    }
    if (!nsub) return;
    resp_add_bulk_cstr(o, "subcommands");
    resp_add_map_len(o, nsub);
    for (const struct command *s = cmd->subcommands; s && s->name; s++) {
        resp_add_bulk_cstr(o, s->name);
        add_docs(o, s);
    }
}

void cmd_command_docs(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        resp_add_map_len(c->out, cmd_renames_count(renames(c)));
        for (int i = 0; i < cmd_top_count(); i++) {
            const struct command *cmd = cmd_by_id(i);
            if (!shown(c, cmd)) continue;
            resp_add_bulk_cstr(c->out, cmd->name);
            add_docs(c->out, cmd);
        }
        return;
    }
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = find_full_name(c, &c->argv[i]);
        if (!cmd) continue; /* Redis omits unknown names */
        resp_add_bulk_cstr(c->out, cmd->name);
        add_docs(c->out, cmd);
        n++;
    }
    resp_set_deferred_map_len(c->out, d, n);
}

/* 1 if cmd passes COMMAND LIST's filter (argv[3], argv[4]). */
static int list_filter(struct cmd_ctx *c, const struct command *cmd)
{
    if (!shown(c, cmd)) return 0;
    if (c->argc == 2) return 1;
    const struct resp_arg *kind = &c->argv[3], *val = &c->argv[4];
    if (arg_is(kind, "MODULE")) return 0; /* no modules */
    if (arg_is(kind, "PATTERN"))
        return glob_match(val->ptr, val->len, cmd->name, strlen(cmd->name), 1);
    /* ACLCAT: a whole word of the acl field */
    const char *p = cmd->acl ? cmd->acl : "";
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == val->len && strncasecmp(p, val->ptr, len) == 0) return 1;
        p += len;
        while (*p == ' ')
            p++;
    }
    return 0;
}

void cmd_command_list(struct cmd_ctx *c)
{
    if (c->argc != 2 && (c->argc != 5 || !arg_is(&c->argv[2], "FILTERBY") ||
                         !(arg_is(&c->argv[3], "MODULE") || arg_is(&c->argv[3], "ACLCAT") ||
                           arg_is(&c->argv[3], "PATTERN")))) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int id = 0; id < cmd_id_count(); id++) {
        const struct command *cmd = cmd_by_id(id);
        if (!list_filter(c, cmd)) continue;
        resp_add_bulk_cstr(c->out, cmd->name);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

/* COMMAND GETKEYS and GETKEYSANDFLAGS (with_flags: each key with its
 * flags: its spec's, or what the row's key_flags_call says of the call). */
static void getkeys(struct cmd_ctx *c, int with_flags)
{
    int argc = c->argc - 2;
    const struct resp_arg *argv = c->argv + 2;
    const struct command *parent, *top = find_top(c, argv[0].ptr, argv[0].len);
    /* the name as clients call it, then its subcommand */
    struct resp_arg named[2] = {{top ? top->name : "", top ? strlen(top->name) : 0}};
    if (argc > 1) named[1] = argv[1];
    const struct command *cmd = top ? cmd_lookup(named, argc > 1 ? 2 : 1, &parent) : NULL;
    if (!cmd || (cmd->flags & (CMD_CONTAINER | CMD_INTERNAL))) {
        resp_add_error(c->out, "ERR Invalid command specified");
        return;
    }
    if (!cmd_arity_ok(cmd, argc)) {
        resp_add_error(c->out, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (cmd_is_keyless(cmd)) {
        resp_add_error(c->out, "ERR The command has no key arguments");
        return;
    }
    int idx[GETKEYS_MAX];
    int n = cmd_get_keys(cmd, argc, argv, idx, GETKEYS_MAX);
    if (n == 0 && cmd->getkeys && !(cmd->flags & CMD_NO_MANDATORY_KEYS)) {
        resp_add_error(c->out, "ERR Invalid arguments specified for command");
        return;
    }
    resp_add_array_len(c->out, n);
    for (int i = 0; i < n; i++) {
        if (with_flags) resp_add_array_len(c->out, 2);
        resp_add_bulk(c->out, argv[idx[i]].ptr, argv[idx[i]].len);
        if (!with_flags) continue;
        const char *p;
        size_t len;
        spec_flags(cmd, i, &p, &len);
        if (cmd->key_flags_call) {
            p = cmd->key_flags_call(argc, argv);
            len = strlen(p);
        }
        add_words(c->out, p, len, 0);
    }
}

void cmd_command_getkeys(struct cmd_ctx *c)
{
    getkeys(c, 0);
}

void cmd_command_getkeysandflags(struct cmd_ctx *c)
{
    getkeys(c, 1);
}

void cmd_command_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full command.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
