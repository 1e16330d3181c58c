/*
 * src/script/script_match.c - string.find, string.match, string.gmatch (and its
 * old name string.gfind) and string.gsub for scripts: Lua 5.1's pattern
 * language, its results and its error messages, from a matcher that pays
 * for its work.
 *
 * Lua's own matcher backtracks inside one C call, which the instruction
 * count sees as one instruction: string.find(string.rep('a', 16),
 * string.rep('a*', 16) .. 'b') runs for seconds, 28 of each for hours,
 * and neither the budget nor SCRIPT KILL can stop it. This one counts its
 * steps (a call of the matcher, a character tested in a loop whose length
 * grows with the subject) and charges them to the run in batches, through
 * script_charge(); when the count hook is due it runs script_checkpoint(),
 * which may end the run with a Lua error. Nothing here holds memory of its
 * own across that point: captures live in a fixed array in the C frame,
 * results on the Lua stack. The count depends on the subject, pattern and
 * arguments alone, so a run stops at the same step on every node.
 *
 * Outside a run (no engine, or between runs) nothing is charged and the
 * functions behave as Lua 5.1's. One difference: the matcher recurses at
 * quantifiers and captures (a plain item continues in a loop), and past
 * MATCH_DEPTH_MAX levels it raises "pattern too complex", as Lua 5.2 and
 * later do, where 5.1 would use up the C stack.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "script/script_int.h"

/* Lua 5.1's LUA_MAXCAPTURES: "too many captures" at the same capture. */
#define MATCH_CAPTURES_MAX 32
/* Levels of matcher recursion allowed (Lua 5.2's MAXCCALLS). */
#define MATCH_DEPTH_MAX 200
/* One matcher step, a character test, is cheaper than a VM instruction:
 * this many steps are charged as one instruction. */
#define STEPS_PER_UNIT 4
/* A call of the matcher (a recursion: a quantifier tried at one length, a
 * capture) is worth this many steps: it costs about what an instruction
 * does (measured: 400M steps of one each took 4 s, 100M instructions
 * 0.7 s). */
#define STEPS_PER_CALL 4
/* Steps counted between two charges. */
#define STEP_BATCH 1024

#define PAT_ESC '%'
/* A pattern without any of these (up to its first NUL) is searched as a
 * plain string by string.find, as Lua 5.1 does. */
#define PAT_SPECIALS "^$*+?.([%-"

#define CAP_OPEN (-1)     /* a capture whose ')' is not matched yet */
#define CAP_POSITION (-2) /* a position capture, () */

struct capture {
    const char *at;
    ptrdiff_t len; /* or CAP_OPEN, CAP_POSITION */
};

/* One call's match. The pattern is read up to its first NUL, as Lua 5.1
 * reads it; the subject is a Lua string, so *end is a NUL. */
struct match {
    lua_State *L;
    const char *src, *end;
    struct script_run *run; /* NULL: nothing charged */
    uint64_t steps;         /* counted, not charged yet */
    uint64_t batch;         /* charge once steps reach this */
    int depth;              /* matcher recursion */
    int level;              /* captures open or closed */
    struct capture cap[MATCH_CAPTURES_MAX];
};

static void match_init(struct match *m, lua_State *L, const char *s, size_t len)
{
    struct script_engine *e = script_engine_of(L);
    m->L = L;
    m->src = s;
    m->end = s + len;
    m->run = e ? e->run : NULL;
    m->steps = 0;
    m->batch = m->run ? STEP_BATCH : UINT64_MAX;
    m->depth = 0;
    m->level = 0;
}

/* Charges the steps counted so far (rounded up) and runs the hook's checks
 * if they are due: may raise the run's error. */
static void settle(struct match *m)
{
    if (!m->run || m->steps == 0) return;
    uint64_t units = (m->steps + STEPS_PER_UNIT - 1) / STEPS_PER_UNIT;
    m->steps = 0;
    if (script_charge(m->L, m->run, units)) script_checkpoint(m->L);
}

/* Charges a batch of steps (whole units; the rest stays counted). */
static void pay(struct match *m)
{
    uint64_t units = m->steps / STEPS_PER_UNIT;
    m->steps %= STEPS_PER_UNIT;
    if (script_charge(m->L, m->run, units)) script_checkpoint(m->L);
}

/* Counts n steps: on every test of the matcher, so kept inline. */
static inline void step(struct match *m, uint64_t n)
{
    m->steps += n;
    if (m->steps >= m->batch) pay(m);
}

/* Raises msg (Lua 5.1's text) once the steps so far are charged. */
static void fail(struct match *m, const char *msg)
{
    settle(m);
    luaL_error(m->L, "%s", msg);
}

/* Whether c is in class cl (the letter after '%'); an upper-case class
 * letter is the complement; any other character stands for itself. */
static int class_test(int c, int cl)
{
    int in;
    switch (tolower(cl)) {
    case 'a':
        in = isalpha(c);
        break;
    case 'c':
        in = iscntrl(c);
        break;
    case 'd':
        in = isdigit(c);
        break;
    case 'l':
        in = islower(c);
        break;
    case 'p':
        in = ispunct(c);
        break;
    case 's':
        in = isspace(c);
        break;
    case 'u':
        in = isupper(c);
        break;
    case 'w':
        in = isalnum(c);
        break;
    case 'x':
        in = isxdigit(c);
        break;
    case 'z':
        in = (c == 0);
        break;
    default:
        return cl == c;
    }
    return isupper(cl) ? !in : in != 0;
}

/* Whether c is in the set from '[' at p to its ']' at close. */
static int set_test(int c, const char *p, const char *close)
{
    int found = 1;
    p++;
    if (*p == '^') {
        found = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == PAT_ESC) {
            p++;
            if (class_test(c, (unsigned char)*p)) return found;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return found;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return found;
        }
    }
    return !found;
}

/* The end of the single-character item at p (a character, '.', a %class
 * or a set): where its quantifier, if any, is. */
static const char *item_end(struct match *m, const char *p)
{
    const char *q = p + 1;
    if (*p == PAT_ESC) {
        if (*q == '\0') fail(m, "malformed pattern (ends with '%')");
        return q + 1;
    }
    if (*p != '[') return q;
    if (*q == '^') q++;
    do { /* the first character is never the closing ']' */
        if (*q == '\0') fail(m, "malformed pattern (missing ']')");
        char c = *q++;
        if (c == PAT_ESC && *q != '\0') q++;
    } while (*q != ']');
    return q + 1;
}

/* Whether c matches the single-character item from p to ep. */
static int item_test(int c, const char *p, const char *ep)
{
    switch (*p) {
    case '.':
        return 1;
    case PAT_ESC:
        return class_test(c, (unsigned char)p[1]);
    case '[':
        return set_test(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

static const char *match_at(struct match *m, const char *s, const char *p);

/* item* (at least n = 0) or item+ (s already past the first): the longest
 * run of the item first, then shorter ones. */
static const char *expand_max(struct match *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (s + n < m->end && item_test((unsigned char)s[n], p, ep)) {
        step(m, 1);
        n++;
    }
    for (; n >= 0; n--) {
        const char *r = match_at(m, s + n, ep + 1);
        if (r) return r;
    }
    return NULL;
}

/* item-: the shortest run of the item that lets the rest match. */
static const char *expand_min(struct match *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = match_at(m, s, ep + 1);
        if (r) return r;
        step(m, 1);
        if (s < m->end && item_test((unsigned char)*s, p, ep))
            s++;
        else
            return NULL;
    }
}

/* %bxy at s (p after "%b"): the end of the balanced run, or NULL. */
static const char *balance(struct match *m, const char *s, const char *p)
{
    if (p[0] == '\0' || p[1] == '\0') fail(m, "unbalanced pattern");
    if (s >= m->end || *s != p[0]) return NULL;
    int open = 1;
    while (++s < m->end) {
        step(m, 1);
        if (*s == p[1]) {
            if (--open == 0) return s + 1;
        } else if (*s == p[0]) {
            open++;
        }
    }
    return NULL;
}

/* %1-%9 at s: the text of that capture again, or NULL. */
static const char *backref(struct match *m, const char *s, int digit)
{
    int i = digit - '1';
    if (i < 0 || i >= m->level || m->cap[i].len == CAP_OPEN) fail(m, "invalid capture index");
    if (m->cap[i].len == CAP_POSITION) return NULL; /* 5.1: its length as size_t, too long */
    size_t len = (size_t)m->cap[i].len;
    if ((size_t)(m->end - s) < len) return NULL;
    step(m, len);
    return memcmp(m->cap[i].at, s, len) == 0 ? s + len : NULL;
}

/* %f[set] at s (p after "%f"): sets *ep past the set; whether the
 * character before s is outside the set and the one at s inside. */
static int frontier(struct match *m, const char *s, const char *p, const char **ep)
{
    if (*p != '[') fail(m, "missing '[' after '%f' in pattern");
    *ep = item_end(m, p);
    int before = s == m->src ? 0 : (unsigned char)s[-1];
    int here = s < m->end ? (unsigned char)*s : 0;
    return !set_test(before, p, *ep - 1) && set_test(here, p, *ep - 1);
}

/* The escapes that are not a class at *pp (a '%'): %b, %f and
 * back-references. Returns 0 for a class; else 1 with *sp where the
 * match goes on (NULL: it failed) and *pp past the escape. */
static int escape_item(struct match *m, const char **sp, const char **pp)
{
    const char *s = *sp, *p = *pp;
    if (p[1] == 'b') {
        *sp = balance(m, s, p + 2);
        *pp = p + 4;
    } else if (p[1] == 'f') {
        if (!frontier(m, s, p + 2, pp)) *sp = NULL;
    } else if (isdigit((unsigned char)p[1])) {
        *sp = backref(m, s, (unsigned char)p[1]);
        *pp = p + 2;
    } else {
        return 0;
    }
    return 1;
}

static const char *open_capture(struct match *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MATCH_CAPTURES_MAX) fail(m, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = match_at(m, s, p);
    if (!r) m->level--;
    return r;
}

static const char *close_capture(struct match *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN)
        l--;
    if (l < 0) fail(m, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].at;
    const char *r = match_at(m, s, p);
    if (!r) m->cap[l].len = CAP_OPEN;
    return r;
}

/* Matches the pattern from p at s: where the match ends, or NULL. Items
 * that cannot backtrack continue in the loop; the others recurse. */
static const char *match_loop(struct match *m, const char *s, const char *p)
{
    for (;;) {
        step(m, 1);
        switch (*p) {
        case '\0':
            return s;
        case '(':
            if (p[1] == ')') return open_capture(m, s, p + 2, CAP_POSITION);
            return open_capture(m, s, p + 1, CAP_OPEN);
        case ')':
            return close_capture(m, s, p + 1);
        case '$':
            if (p[1] == '\0') return s == m->end ? s : NULL;
            break; /* elsewhere a plain '$' */
        case PAT_ESC:
            if (escape_item(m, &s, &p)) {
                if (!s) return NULL;
                continue;
            }
            break;
        default:
            break;
        }
        const char *ep = item_end(m, p);
        int hit = s < m->end && item_test((unsigned char)*s, p, ep);
        switch (*ep) {
        case '?':
            if (hit) {
                const char *r = match_at(m, s + 1, ep + 1);
                if (r) return r;
            }
            p = ep + 1;
            continue;
        case '*':
            return expand_max(m, s, p, ep);
        case '+':
            return hit ? expand_max(m, s + 1, p, ep) : NULL;
        case '-':
            return expand_min(m, s, p, ep);
        default:
            if (!hit) return NULL;
            s++;
            p = ep;
        }
    }
}

static const char *match_at(struct match *m, const char *s, const char *p)
{
    if (++m->depth > MATCH_DEPTH_MAX) fail(m, "pattern too complex");
    step(m, STEPS_PER_CALL);
    const char *r = match_loop(m, s, p);
    m->depth--;
    return r;
}

/* Pushes capture i of the match s..e (the whole match for i = 0 when the
 * pattern has none). */
static void push_capture(struct match *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0) fail(m, "invalid capture index");
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_OPEN) fail(m, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, m->cap[i].at - m->src + 1);
    else
        lua_pushlstring(m->L, m->cap[i].at, (size_t)len);
}

/* Pushes every capture (the whole match if none and s is set); returns
 * how many. */
static int push_captures(struct match *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* The first occurrence of p[0..lp) in s[0..ls), or NULL. */
static const char *plain_find(struct match *m, const char *s, size_t ls, const char *p, size_t lp)
{
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *at = s, *last = s + (ls - lp);
    while (at <= last) {
        const char *hit = memchr(at, p[0], (size_t)(last - at) + 1);
        if (!hit) {
            step(m, (size_t)(last - at) + 1);
            return NULL;
        }
        step(m, (size_t)(hit - at) + lp);
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
        at = hit + 1;
    }
    return NULL;
}

/* string.find's and string.match's init (1-based, negative from the end)
 * as an offset in [0, len]. */
static size_t start_offset(lua_Integer init, size_t len)
{
    if (init < 0) init += (lua_Integer)len + 1;
    if (init < 1) return 0;
    return (size_t)init - 1 > len ? len : (size_t)init - 1;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    struct match m;
    match_init(&m, L, s, ls);
    if (find && (lua_toboolean(L, 4) || !strpbrk(p, PAT_SPECIALS))) {
        const char *hit = plain_find(&m, s + init, ls - init, p, lp);
        settle(&m);
        if (!hit) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushinteger(L, hit - s + 1);
        lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
        return 2;
    }
    int anchor = *p == '^';
    if (anchor) p++;
    const char *at = s + init;
    do {
        m.level = 0;
        const char *e = match_at(&m, at, p);
        if (e) {
            settle(&m);
            if (!find) return push_captures(&m, at, e);
            lua_pushinteger(L, at - s + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (at++ < m.end && !anchor);
    settle(&m);
    lua_pushnil(L);
    return 1;
}

static int match_find(lua_State *L)
{
    return find_aux(L, 1);
}

static int match_match(lua_State *L)
{
    return find_aux(L, 0);
}

/* gmatch's iterator; upvalues: the subject, the pattern, the offset to
 * go on from. A '^' is a plain character here, as in Lua 5.1. */
static int gmatch_next(lua_State *L)
{
    size_t ls;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tostring(L, lua_upvalueindex(2));
    struct match m;
    match_init(&m, L, s, ls);
    for (size_t at = (size_t)lua_tointeger(L, lua_upvalueindex(3)); at <= ls; at++) {
        m.level = 0;
        const char *e = match_at(&m, s + at, p);
        if (e) {
            size_t next = (size_t)(e - s);
            if (next == at) next++; /* an empty match: go on one further */
            lua_pushinteger(L, (lua_Integer)next);
            lua_replace(L, lua_upvalueindex(3));
            settle(&m);
            return push_captures(&m, s + at, e);
        }
    }
    settle(&m);
    return 0;
}

static int match_gmatch(lua_State *L)
{
    luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* gsub's replacement string (argument 3) for the match s..e: %0-%9 are
 * captures, % before anything else is that character. */
static void add_string(struct match *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t len;
    const char *r = lua_tolstring(m->L, 3, &len);
    step(m, len);
    for (size_t i = 0; i < len; i++) {
        if (r[i] != PAT_ESC) {
            luaL_addchar(b, r[i]);
            continue;
        }
        char c = r[++i]; /* r[len] is the string's NUL: a final '%' adds it, as 5.1 */
        if (!isdigit((unsigned char)c)) {
            luaL_addchar(b, c);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else {
            push_capture(m, c - '1', s, e);
            luaL_addvalue(b);
        }
    }
}

/* Adds gsub's replacement for the match s..e (tr: argument 3's type). */
static void add_value(struct match *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TNUMBER || tr == LUA_TSTRING) {
        add_string(m, b, s, e);
        return;
    }
    settle(m); /* Lua code may run (and fail) from here */
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        lua_call(L, push_captures(m, s, e), 1);
    } else {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: the match stays */
        lua_pop(L, 1);
        lua_pushlstring(L, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
}

static int match_gsub(lua_State *L)
{
    size_t ls;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checkstring(L, 2);
    int tr = lua_type(L, 3);
    int max_n = luaL_optint(L, 4, (int)(ls + 1));
    luaL_argcheck(L,
                  tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE,
                  3, "string/function/table expected");
    struct match m;
    match_init(&m, L, src, ls);
    int anchor = *p == '^';
    if (anchor) p++;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = 0;
    const char *at = src;
    while (n < max_n) {
        m.level = 0;
        const char *e = match_at(&m, at, p);
        if (e) {
            n++;
            add_value(&m, &b, at, e, tr);
        }
        if (e && e > at)
            at = e;
        else if (at < m.end)
            luaL_addchar(&b, *at++);
        else
            break;
        if (anchor) break;
    }
    luaL_addlstring(&b, at, (size_t)(m.end - at));
    settle(&m);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void script_match_install(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", match_find}, {"match", match_match}, {"gmatch", match_gmatch},
        {"gsub", match_gsub}, {NULL, NULL},
    };
    lua_getglobal(L, "string");
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    lua_getfield(L, -1, "gfind"); /* 5.1's old name of gmatch, when compiled in */
    if (!lua_isnil(L, -1)) {
        lua_pushcfunction(L, match_gmatch);
        lua_setfield(L, -3, "gfind");
    }
    lua_pop(L, 2);
}
