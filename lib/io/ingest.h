/* SPDX-License-Identifier: MIT */
/*
 * Sources other than the push API: the file source reads an NDJSON file in
 * chunks, a bounded amount per loop pass so the loop never stalls, and
 * hands each line to hark_ingest_line. Lines over max_line are counted as
 * rejected and skipped.
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
	bool done;         /* reached the end of the file */
};

/* Opens src->path and starts reading; NULL (reason logged) if it cannot. */
struct ingest_file *ingest_file_start(struct event_base *base, struct hark *h,
				      int source_index,
				      const struct config_source *src);
struct ingest_stats ingest_file_stats(const struct ingest_file *f);
/* Stops reading and frees. Accepts NULL. */
void ingest_file_free(struct ingest_file *f);

#endif
