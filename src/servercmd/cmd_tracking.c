/*
 * src/servercmd/cmd_tracking.c - the CLIENT subcommands of client-side
 * caching: TRACKING, CACHING, GETREDIR, TRACKINGINFO. Their checks, replies
 * and errors are Redis 7.0's; what tracking does is src/server/tracking.h's.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "server/server.h"
#include "server/tracking.h"

#define ERR_SYNTAX "ERR syntax error"

/* The options of CLIENT TRACKING after ON|OFF: flags, redirect, and the
 * PREFIX arguments (prefixes[0..*n), of argv). Returns 0, or -1 after
 * replying the error. */
static int parse_options(struct cmd_ctx *c, unsigned *flags, uint64_t *redirect,
                         struct resp_arg *prefixes, size_t *n)
{
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (cmd_arg_is(a, "redirect") && more) {
            if (*redirect) {
                resp_add_error(c->out, "ERR A client can only redirect to a single other client");
                return -1;
            }
            long long id;
            if (cmd_arg_ll(c, ++j, &id) < 0) return -1;
            /* it must exist now, even if it may go later (Redis's check) */
            if (id <= 0 || !server_client_by_id(c->srv, (uint64_t)id)) {
                resp_add_error(c->out, "ERR The client ID you want redirect to does not exist");
                return -1;
            }
            *redirect = (uint64_t)id;
        } else if (cmd_arg_is(a, "bcast")) {
            *flags |= TRACKING_BCAST;
        } else if (cmd_arg_is(a, "optin")) {
            *flags |= TRACKING_OPTIN;
        } else if (cmd_arg_is(a, "optout")) {
            *flags |= TRACKING_OPTOUT;
        } else if (cmd_arg_is(a, "noloop")) {
            *flags |= TRACKING_NOLOOP;
        } else if (cmd_arg_is(a, "prefix") && more) {
            prefixes[(*n)++] = c->argv[++j];
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* The refusal of turning tracking on with flags and n prefixes, as Redis
 * checks them, or NULL. */
static const char *refusal(const struct client *cl, unsigned flags, size_t n)
{
    if (!(flags & TRACKING_BCAST) && n)
        return "ERR PREFIX option requires BCAST mode to be enabled";
    if ((cl->tracking & TRACKING_ON) &&
        !(cl->tracking & TRACKING_BCAST) != !(flags & TRACKING_BCAST))
        return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
               "and then re-enabling it with a different mode.";
    if ((flags & TRACKING_BCAST) && (flags & (TRACKING_OPTIN | TRACKING_OPTOUT)))
        return "ERR OPTIN and OPTOUT are not compatible with BCAST";
    if ((flags & TRACKING_OPTIN) && (flags & TRACKING_OPTOUT))
        return "ERR You can't specify both OPTIN mode and OPTOUT mode";
    if (((flags & TRACKING_OPTIN) && (cl->tracking & TRACKING_OPTOUT)) ||
        ((flags & TRACKING_OPTOUT) && (cl->tracking & TRACKING_OPTIN)))
        return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
               "client, and then re-enabling it with a different mode.";
    return NULL;
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP] */
void cmd_client_tracking(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    unsigned flags = 0;
    uint64_t redirect = 0;
    size_t n = 0;
    struct resp_arg *prefixes = malloc((size_t)c->argc * sizeof *prefixes);
    if (!prefixes) {
        resp_add_error(c->out, "ERR out of memory");
        return;
    }
    if (parse_options(c, &flags, &redirect, prefixes, &n) < 0) goto done;
    if (cmd_arg_is(&c->argv[2], "on")) {
        const char *why = refusal(cl, flags, n);
        char err[512];
        if (!why && (flags & TRACKING_BCAST) &&
            tracking_prefix_overlap(cl, prefixes, n, err, sizeof err))
            why = err;
        if (why) {
            resp_add_error(c->out, why);
            goto done;
        }
        tracking_enable(c->srv, cl, redirect, flags, prefixes, n);
    } else if (cmd_arg_is(&c->argv[2], "off")) {
        tracking_disable(c->srv, cl);
    } else {
        resp_add_error(c->out, ERR_SYNTAX);
        goto done;
    }
    resp_add_simple(c->out, "OK");
done:
    free(prefixes);
}

/* CLIENT CACHING YES|NO: whether the next command's keys are remembered,
 * in OPTIN or OPTOUT mode. */
void cmd_client_caching(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    if (!(cl->tracking & TRACKING_ON)) {
        resp_add_error(c->out, "ERR CLIENT CACHING can be called only when the client is in "
                               "tracking mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (cmd_arg_is(&c->argv[2], "yes")) {
        if (!(cl->tracking & TRACKING_OPTIN)) {
            resp_add_error(c->out,
                           "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.");
            return;
        }
    } else if (cmd_arg_is(&c->argv[2], "no")) {
        if (!(cl->tracking & TRACKING_OPTOUT)) {
            resp_add_error(c->out,
                           "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.");
            return;
        }
    } else {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    cl->tracking |= TRACKING_CACHING;
    resp_add_simple(c->out, "OK");
}

/* The REDIRECT id while tracking (0: none), -1 when it is off. */
static long long redirect_of(const struct client *cl)
{
    return (cl->tracking & TRACKING_ON) ? (long long)cl->tracking_redirect : -1;
}

void cmd_client_getredir(struct cmd_ctx *c)
{
    resp_add_int(c->out, redirect_of(c->client));
}

static void add_prefix(void *ud, const struct resp_arg *p)
{
    resp_add_bulk(ud, p->ptr, p->len);
}

static void count_prefix(void *ud, const struct resp_arg *p)
{
    (void)p;
    (*(long *)ud)++;
}

/* CLIENT TRACKINGINFO: flags, redirect, prefixes (Redis 7.0's map). */
void cmd_client_trackinginfo(struct cmd_ctx *c)
{
    const struct client *cl = c->client;
    unsigned f = cl->tracking;
    static const struct {
        unsigned flag, need;
        const char *name;
    } names[] = {
        {TRACKING_BCAST, 0, "bcast"},
        {TRACKING_OPTIN, 0, "optin"},
        {TRACKING_CACHING, TRACKING_OPTIN, "caching-yes"},
        {TRACKING_OPTOUT, 0, "optout"},
        {TRACKING_CACHING, TRACKING_OPTOUT, "caching-no"},
        {TRACKING_NOLOOP, 0, "noloop"},
        {TRACKING_BROKEN_REDIR, 0, "broken_redirect"},
    };
    resp_add_map_len(c->out, 3);
    resp_add_bulk_cstr(c->out, "flags");
    long nflags = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((f & names[i].flag) && (!names[i].need || (f & names[i].need))) nflags++;
    resp_add_set_len(c->out, nflags);
    resp_add_bulk_cstr(c->out, (f & TRACKING_ON) ? "on" : "off");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((f & names[i].flag) && (!names[i].need || (f & names[i].need)))
            resp_add_bulk_cstr(c->out, names[i].name);
    resp_add_bulk_cstr(c->out, "redirect");
    resp_add_int(c->out, redirect_of(cl));
    resp_add_bulk_cstr(c->out, "prefixes");
    long np = 0;
    tracking_client_prefixes(cl, count_prefix, &np);
    resp_add_array_len(c->out, np);
    tracking_client_prefixes(cl, add_prefix, c->out);
}
