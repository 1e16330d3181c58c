/*
 * src/types/t_geo.h - the GEO commands (src/types/t_geo.c; rows in src/types/cmdtable_geo.c):
 * GEOADD GEODIST GEOHASH GEOPOS GEORADIUS GEORADIUSBYMEMBER (and their _RO
 * variants) GEOSEARCH GEOSEARCHSTORE, with Redis 7.0's replies.
 *
 * A geospatial index is a sorted set (src/types/t_zset.h) whose scores are the
 * members' positions encoded by src/ds/geohash.h: GEOADD is ZADD with encoded
 * scores, the ZSET commands work on the same key, and the searches walk the
 * set's score ranges of the cells covering the searched area. GEORADIUS and
 * GEORADIUSBYMEMBER are writes, as in Redis (their STORE option), so they go
 * through the log; their _RO variants and GEOSEARCH are reads.
 *
 * Results come unsorted (the cells' order, then score order) unless ASC or
 * DESC is given; COUNT without ANY sorts ascending. Points at exactly equal
 * distances keep the order they were found in.
 */
#ifndef T_GEO_H
#define T_GEO_H

#include "cmd/cmd.h"

cmd_proc cmd_geoadd, cmd_geodist, cmd_geohash, cmd_geopos, cmd_georadius, cmd_georadius_ro,
    cmd_georadiusbymember, cmd_georadiusbymember_ro, cmd_geosearch, cmd_geosearchstore;
/* GEORADIUS and GEORADIUSBYMEMBER's keys: the source, and the STORE or
 * STOREDIST destination (the last one given). */
cmd_getkeys_fn t_geo_radius_keys;
extern const struct command cmd_table_geo[];

#endif
