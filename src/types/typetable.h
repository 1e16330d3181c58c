/*
 * src/types/typetable.h - the data type modules the server offers, by enum kv_type
 * (src/keyspace/kv.h): the table its owner gives the keyspace (kv_init) and the
 * snapshot checker (snapshot_verify). NULL for KV_STRING, the keyspace's own
 * type, and for types not offered yet. A new type is one row here.
 */
#ifndef TYPETABLE_H
#define TYPETABLE_H

#include "keyspace/types.h"

extern const struct kv_type_ops *const type_table[];

#endif
