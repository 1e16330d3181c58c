/*
 * src/cmd/rows.h - the abbreviations a file of command rows writes its flags
 * with (struct command, src/cmd/cmd.h). Included only by the files that
 * define rows (a type's src/types/cmdtable_<type>.c, the handler files that
 * keep their rows at their end, src/servercmd/cmdtable*.c), never by a
 * header: the names are short because a row is read across one line.
 */
#ifndef CMD_ROWS_H
#define CMD_ROWS_H

#include "cmd/cmd.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define OOM CMD_DENYOOM
#define ADM CMD_ADMIN
#define NOA CMD_NOAUTH
#define NOQ CMD_NOQUEUE
#define NOM CMD_NO_MULTI
#define LD CMD_LOADING
#define ST CMD_STALE
#define NS CMD_NOSCRIPT
#define SUB CMD_SUBSCRIBED

/* The row that ends every group and subcommand list. */
#define CMD_ROWS_END                                                                               \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL                              \
    }

#endif
