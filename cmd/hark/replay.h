/* SPDX-License-Identifier: MIT */
/*
 * `hark replay`: backtests through the daemon's own core code. Counts mode
 * reads a timestamp,value CSV and writes timestamp,value,baseline,score,
 * alert; mentions mode feeds NDJSON files through normalize → match →
 * count → detect → alert on the embedded store and prints the webhook
 * bodies. Both are deterministic.
 */
#ifndef HARK_CMD_REPLAY_H
#define HARK_CMD_REPLAY_H

#include <stdint.h>
#include <stdio.h>

struct detect_params;

/* argv[0] is "replay". Returns the process exit code. */
int cmd_replay(int argc, char **argv);

/*
 * Counts mode: reads path ("-" for stdin), runs one detector with p (its
 * bucket_ms replaced by the bucket inferred from the timestamps when
 * bucket_ms is 0), writes the CSV to out. Problems go to stderr as
 * "FILE:LINE: message"; returns 0, or 1 on bad input.
 */
int replay_counts(const char *path, const struct detect_params *p,
		  int64_t bucket_ms, FILE *out);

#endif
