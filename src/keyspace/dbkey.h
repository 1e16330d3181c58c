/*
 * src/keyspace/dbkey.h - a key's name in an index of keys of every
 * database (clients blocked on keys, keys proposed for expiry): its
 * database's number as 4 little-endian bytes, then the key's bytes, so
 * that key "a" of database 3 is not database 0's "a".
 *
 * The name is built on the stack for short keys (DB_KEY_STACK bytes), else
 * allocated: release it with db_key_free(). Single-threaded, no state.
 */
#ifndef DBKEY_H
#define DBKEY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/util.h"

#define DB_KEY_STACK 256
#define DB_KEY_PREFIX 4 /* the bytes of the database's number */

struct db_key {
    char stack[DB_KEY_STACK];
    char *p; /* the name: stack, or allocated */
    size_t len;
};

static inline void db_key_make(struct db_key *k, int db, const char *key, size_t len)
{
    k->len = DB_KEY_PREFIX + len;
    k->p = k->len <= sizeof k->stack ? k->stack : util_xmalloc(k->len);
    le_put32((unsigned char *)k->p, (uint32_t)db);
    memcpy(k->p + DB_KEY_PREFIX, key, len);
}

static inline void db_key_free(struct db_key *k)
{
    if (k->p != k->stack) free(k->p);
}

#endif
