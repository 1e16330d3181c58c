/*
 * src/types/cmdtable_geo.c - the GEO commands' rows of the command table (see
 * cmd.h for the columns; arity, flags, keys and ACL categories are Redis
 * 7.0's). Handlers: src/types/t_geo.c.
 */
#include "cmd/cmd.h"
#include "types/t_geo.h"
#include "cmd/rows.h"

#define UNIT "<M|KM|FT|MI>:unit"
#define RADIUS_OPTS                                                                                \
    "[WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]:count_block [ASC|DESC]:order"
#define SEARCH_FROM "<FROMMEMBER member|FROMLONLAT longitude:double latitude:double>:from "
#define SEARCH_BY                                                                                  \
    "<BYRADIUS radius:double " UNIT "|BYBOX width:double height:double " UNIT ">:by "              \
    "[ASC|DESC]:order [COUNT count [ANY]]:count_block "

const struct command cmd_table_geo[] = {
    {"geoadd", -5, W | OOM, 1, 1, 1, cmd_geoadd, "geo", "3.2.0",
     "Add one or more geospatial items in the geospatial index represented using a sorted set",
     "key [NX|XX]:condition [CH]:change longitude:double latitude:double member "
     "[longitude:double latitude:double member ...]",
     "write geo slow", NULL, .key_flags = "RW update"},
    {"geodist", -4, R, 1, 1, 1, cmd_geodist, "geo", "3.2.0",
     "Returns the distance between two members of a geospatial index",
     "key member1 member2 [M|KM|FT|MI]:unit", "read geo slow", NULL, .key_flags = "RO access"},
    {"geohash", -2, R, 1, 1, 1, cmd_geohash, "geo", "3.2.0",
     "Returns members of a geospatial index as standard geohash strings",
     "key [member [member ...]]", "read geo slow", NULL, .key_flags = "RO access"},
    {"geopos", -2, R, 1, 1, 1, cmd_geopos, "geo", "3.2.0",
     "Returns longitude and latitude of members of a geospatial index", "key [member [member ...]]",
     "read geo slow", NULL, .key_flags = "RO access"},
    {"georadius", -6, W | OOM, 1, 1, 1, cmd_georadius, "geo", "3.2.0",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a point",
     "key longitude:double latitude:double radius:double " UNIT " " RADIUS_OPTS
     " [STORE key] [STOREDIST key]",
     "write geo slow", NULL, .getkeys = t_geo_radius_keys,
     .key_flags = "RO access|OW update|OW update"},
    {"georadius_ro", -6, R, 1, 1, 1, cmd_georadius_ro, "geo", "3.2.10",
     "A read-only variant for GEORADIUS",
     "key longitude:double latitude:double radius:double " UNIT " " RADIUS_OPTS, "read geo slow",
     NULL, .key_flags = "RO access"},
    {"georadiusbymember", -5, W | OOM, 1, 1, 1, cmd_georadiusbymember, "geo", "3.2.0",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a member",
     "key member radius:double " UNIT " " RADIUS_OPTS " [STORE key] [STOREDIST key]",
     "write geo slow", NULL, .getkeys = t_geo_radius_keys,
     .key_flags = "RO access|OW update|OW update"},
    {"georadiusbymember_ro", -5, R, 1, 1, 1, cmd_georadiusbymember_ro, "geo", "3.2.10",
     "A read-only variant for GEORADIUSBYMEMBER", "key member radius:double " UNIT " " RADIUS_OPTS,
     "read geo slow", NULL, .key_flags = "RO access"},
    {"geosearch", -7, R, 1, 1, 1, cmd_geosearch, "geo", "6.2.0",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle.",
     "key " SEARCH_FROM SEARCH_BY "[WITHCOORD] [WITHDIST] [WITHHASH]", "read geo slow", NULL,
     .key_flags = "RO access"},
    {"geosearchstore", -8, W | OOM, 1, 2, 1, cmd_geosearchstore, "geo", "6.2.0",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle, and store the result in another key.",
     "destination source " SEARCH_FROM SEARCH_BY "[STOREDIST]", "write geo slow", NULL,
     .key_flags = "OW update|RO access"},
    CMD_ROWS_END,
};
