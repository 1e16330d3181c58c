/*
 * src/types/typetable.c - the table of data type modules (see typetable.h).
 */
#include "keyspace/kv.h"
#include "types/bitops.h"
#include "types/hll_cmd.h"
#include "types/sort.h"
#include "types/t_geo.h"
#include "types/t_hash.h"
#include "types/t_list.h"
#include "types/t_set.h"
#include "types/t_stream.h"
#include "types/t_zset.h"
#include "types/typetable.h"

const struct kv_type_ops *const type_table[KV_TYPE_COUNT] = {
    [KV_STRING] = NULL, /* the keyspace's own */
    [KV_LIST] = &t_list_ops, [KV_SET] = &t_set_ops,       [KV_ZSET] = &t_zset_ops,
    [KV_HASH] = &t_hash_ops, [KV_STREAM] = &t_stream_ops,
};

const struct command *const type_command_groups[] = {
    cmd_table_string, cmd_table_keys, cmd_table_expire, cmd_table_object, cmd_table_hash,
    cmd_table_set,    cmd_table_zset, cmd_table_bitops, cmd_table_hll,    cmd_table_sort,
    cmd_table_list,   cmd_table_geo,  cmd_table_stream,
};
const size_t type_command_group_count = sizeof type_command_groups / sizeof type_command_groups[0];
