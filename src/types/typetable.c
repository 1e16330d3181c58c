/*
 * src/types/typetable.c - the table of data type modules (see typetable.h).
 */
#include "keyspace/kv.h"
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
