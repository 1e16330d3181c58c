/*
 * src/servercmd/cmd_acl.h - ACL's subcommands and RAFTCACHE.ACL
 * (src/servercmd/cmd_acl.c) and their rows of the command table.
 */
#ifndef CMD_ACL_H
#define CMD_ACL_H

#include "cmd/cmd.h"

extern const struct command cmd_table_acl[];

cmd_proc cmd_acl_setuser, cmd_acl_deluser, cmd_acl_load, cmd_acl_save, cmd_acl_getuser,
    cmd_acl_list, cmd_acl_users, cmd_acl_whoami, cmd_acl_cat, cmd_acl_genpass, cmd_acl_log,
    cmd_acl_dryrun, cmd_acl_help, cmd_raftcache_acl, cmd_raftcache_as, cmd_raftcache_denied;
cmd_getkeys_fn cmd_raftcache_as_keys;

#endif
