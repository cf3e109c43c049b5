/* SPDX-License-Identifier: MIT */
/*
 * The file source: reads an NDJSON file in chunks, a bounded amount per
 * loop pass so the loop never stalls, and hands each line, read in the
 * source's format or fields, to hark_ingest_line_as. Lines over max_line
 * are counted as rejected and skipped. With follow it behaves as tail -F:
 * at the end of the file it polls (every poll_ms) for growth, rotation
 * (the path names another file) and truncation (the size shrank).
 */
#ifndef HARK_IO_INGEST_H
#define HARK_IO_INGEST_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct hark;
struct config_source;
struct ingest_file;

struct ingest_stats {
	uint64_t received; /* lines handed on, accepted or not */
	uint64_t rejected;
	bool done;         /* reached the end of the file (never with follow) */
	uint64_t skipped;  /* valid but not counted (skipped boosts) */
	uint64_t reopens;  /* follow: the path named a new file (rotation) */
	uint64_t truncations; /* follow: the file shrank, read again from 0 */
	uint64_t partial;  /* follow: a partial line lost to a truncation */
	bool missing;      /* follow: the path names no file right now */
	bool at_end;       /* follow: read up to the end, polling */
};

/*
 * Opens src->path and starts reading; NULL (reason logged) if it cannot.
 * With src->follow a missing file is waited for instead (tail -F).
 */
struct ingest_file *ingest_file_start(struct event_base *base, struct hark *h,
				      int source_index,
				      const struct config_source *src);
struct ingest_stats ingest_file_stats(const struct ingest_file *f);
/* For GET /v1/sources: "reading", "following", "waiting" (followed file
 * missing) or "finished". */
const char *ingest_file_state(const struct ingest_file *f);
/* Stops reading and frees. Accepts NULL. */
void ingest_file_free(struct ingest_file *f);

#endif
