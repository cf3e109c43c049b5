/* SPDX-License-Identifier: MIT */
/*
 * The file source: reads an NDJSON file in chunks, a bounded amount per
 * loop pass so the loop never stalls, and hands each line, read in the
 * source's format or fields, to hark_ingest_line_as. Lines over max_line
 * are counted as rejected and skipped. With follow it behaves as tail -F:
 * at the end of the file it polls (every poll_ms) for growth, rotation
 * (the path names another file) and truncation (the size shrank).
 * Where it starts follows src->start_at: the beginning, the end (only lines
 * written later), or a position saved by an earlier run (struct
 * ingest_pos, kept in the store by hark.c).
 */
#ifndef HARK_IO_INGEST_H
#define HARK_IO_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct hark;
struct config_source;
struct ingest_file;

struct ingest_stats {
	uint64_t received; /* lines handed on, accepted or not */
	uint64_t rejected;
	bool done;        /* reached the end of the file (never with follow) */
	uint64_t skipped; /* valid but not counted (skipped boosts) */
	uint64_t reopens; /* follow: the path named a new file (rotation) */
	uint64_t truncations; /* follow: the file shrank, read again from 0 */
	uint64_t partial;     /* follow: a partial line lost to a truncation */
	bool missing;         /* follow: the path names no file right now */
	bool at_end;          /* follow: read up to the end, polling */
	uint64_t duplicates;  /* ids seen recently (the shared dedupe set) */
};

/*
 * Where reading stopped: the file's identity, the offset just after the
 * last complete line handed on, and how long the file was known to be
 * (bytes read from it). A restart resumes there only while the path still
 * names that file and the file is at least size long: a rotated or
 * truncated file holds new data.
 */
struct ingest_pos {
	uint64_t dev;
	uint64_t ino;
	int64_t offset;
	int64_t size;
};

/*
 * Opens src->path and starts reading; NULL (reason logged) if it cannot.
 * With src->follow a missing file is waited for instead (tail -F).
 */
struct ingest_file *ingest_file_start(struct event_base *base, struct hark *h,
				      int source_index,
				      const struct config_source *src);
/*
 * The same, starting as src->start_at says; with CONFIG_START_RESUME at
 * saved when it still applies (else, like a NULL saved, at the start).
 */
struct ingest_file *ingest_file_start_at(struct event_base *base,
					 struct hark *h, int source_index,
					 const struct config_source *src,
					 const struct ingest_pos *saved);
struct ingest_stats ingest_file_stats(const struct ingest_file *f);
/* The position to save; false while no file is open (none to resume). */
bool ingest_file_position(const struct ingest_file *f, struct ingest_pos *pos);
/* Text form kept in the store. Caller frees. */
char *ingest_pos_encode(const struct ingest_pos *pos);
/* 0, or -1 when s (len bytes) is not a position ingest_pos_encode made. */
int ingest_pos_decode(struct ingest_pos *pos, const char *s, size_t len);
/* For GET /v1/sources: "reading", "following", "waiting" (followed file
 * missing) or "finished". */
const char *ingest_file_state(const struct ingest_file *f);
/* Stops reading and frees. Accepts NULL. */
void ingest_file_free(struct ingest_file *f);

#endif
