/*
 * src/cmd/rename.c - rename-command's table (see rename.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/rename.h"

void cmd_renames_init(struct cmd_renames *r)
{
    memset(r, 0, sizeof *r);
}

void cmd_renames_free(struct cmd_renames *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->to[i].name);
    free(r->to);
    free(r->hidden);
    cmd_renames_init(r);
}

static int new_name_at(const struct cmd_renames *r, const char *name, size_t len)
{
    for (int i = 0; i < r->n; i++)
        if (r->to[i].len == len && !strncasecmp(r->to[i].name, name, len)) return i;
    return -1;
}

/* The top-level command of the registry named name, subcommands aside. */
static const struct command *own(const char *name, size_t len)
{
    if (memchr(name, '|', len)) return NULL;
    const struct command *c = cmd_lookup_name(name, len);
    return c && cmd_id(c) < cmd_top_count() ? c : NULL;
}

int cmd_renames_hides(const struct cmd_renames *r, const char *name, size_t len)
{
    if (!r->active || new_name_at(r, name, len) >= 0) return 0;
    const struct command *c = own(name, len);
    return c && r->hidden[cmd_id(c)];
}

const struct command *cmd_renames_find(const struct cmd_renames *r, const char *name, size_t len)
{
    if (r->active) {
        int i = new_name_at(r, name, len);
        if (i >= 0) return r->to[i].cmd;
    }
    const struct command *c = own(name, len);
    return c && !(r->active && r->hidden[cmd_id(c)]) ? c : NULL;
}

int cmd_renames_callable(const struct cmd_renames *r, const struct command *cmd)
{
    if (!r->active || !r->hidden[cmd_id(cmd)]) return 1;
    for (int i = 0; i < r->n; i++)
        if (r->to[i].cmd == cmd) return 1;
    return 0;
}

int cmd_renames_count(const struct cmd_renames *r)
{
    int n = cmd_count();
    for (int id = 0; r->active && id < cmd_top_count(); id++) {
        const struct command *c = cmd_by_id(id);
        if (!(c->flags & CMD_INTERNAL) && !cmd_renames_callable(r, c)) n--;
    }
    return n;
}

int cmd_renames_add(struct cmd_renames *r, const char *from, const char *to, char *err,
                    size_t errlen)
{
    size_t flen = strlen(from), tlen = strlen(to);
    if (memchr(from, '|', flen))
        return util_fail(err, errlen, -1,
                         "rename-command renames commands, not subcommands ('%.64s')", from);
    const struct command *cmd = cmd_renames_find(r, from, flen);
    if (!cmd) return util_fail(err, errlen, -1, "No such command in rename-command");
    if (!r->hidden) r->hidden = util_xcalloc((size_t)cmd_top_count(), 1);
    r->active = 1;
    /* Redis deletes the name first, then adds the new one. */
    int at = new_name_at(r, from, flen);
    if (at >= 0) {
        free(r->to[at].name);
        r->to[at] = r->to[--r->n];
    } else {
        r->hidden[cmd_id(cmd)] = 1;
    }
    if (!tlen) return 0;
    if (cmd_renames_find(r, to, tlen) || memchr(to, '|', tlen))
        return util_fail(err, errlen, -1, "Target command name already exists");
    if (r->n >= CMD_RENAMES_MAX)
        return util_fail(err, errlen, -1, "more than %d renamed commands", CMD_RENAMES_MAX);
    r->to = util_xrealloc(r->to, ((size_t)r->n + 1) * sizeof *r->to);
    char *name = util_xmemdup(to, tlen + 1);
    for (size_t i = 0; i < tlen; i++)
        if (name[i] >= 'A' && name[i] <= 'Z') name[i] = (char)(name[i] - 'A' + 'a');
    r->to[r->n++] = (struct cmd_rename){name, tlen, cmd};
    return 0;
}
