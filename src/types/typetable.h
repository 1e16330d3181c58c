/*
 * src/types/typetable.h - the data type modules the server offers, by enum kv_type
 * (src/keyspace/kv.h): the table its owner gives the keyspace (kv_init) and the
 * snapshot checker (snapshot_verify). NULL for KV_STRING, the keyspace's own
 * type, and for types not offered yet. A new type is one row here.
 */
#ifndef TYPETABLE_H
#define TYPETABLE_H

#include <stddef.h>

#include "cmd/cmd.h"
#include "keyspace/types.h"

extern const struct kv_type_ops *const type_table[];

/* Every group of command rows of this folder (each a NULL-name terminated
 * array beside its handlers), for the registry (src/cmd/cmd.h): the server
 * hands it these and its own (src/servercmd/cmdtable.h); a unit test of a
 * type hands it these alone. A new type's rows are one line here. */
extern const struct command *const type_command_groups[];
extern const size_t type_command_group_count;

/* The rows kept at the end of their handler files (src/types/cmd_*.c);
 * a type's are declared in its header. */
extern const struct command cmd_table_string[], cmd_table_keys[], cmd_table_expire[],
    cmd_table_object[];

#endif
