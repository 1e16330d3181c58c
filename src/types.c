/*
 * src/types.c - the registry of data type modules (see types.h).
 */
#include "kv.h"
#include "t_hash.h"

const struct kv_type_ops *const kv_types[KV_TYPE_COUNT] = {
    [KV_STRING] = NULL, /* the keyspace's own */
    [KV_HASH] = &t_hash_ops,
};
