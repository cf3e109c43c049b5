/* SPDX-License-Identifier: MIT */
/*
 * `hark replay`: backtests through the daemon's own core code. Counts mode
 * reads a timestamp,value CSV and writes timestamp,value,baseline,score,
 * alert (and reason,threshold,span with --explain); mentions mode feeds NDJSON files through normalize → match →
 * count → detect → alert on the embedded store and prints the webhook
 * bodies. Both are deterministic.
 */
#ifndef HARK_CMD_REPLAY_H
#define HARK_CMD_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config_rule;

/* argv[0] is "replay". Returns the process exit code. */
int cmd_replay(int argc, char **argv);

/*
 * Counts mode: reads path ("-" for stdin), runs one detector with rule's
 * settings (NULL: the detector's defaults) for buckets of bucket_ms (0:
 * inferred from the timestamps), counting from the first row, and writes
 * the CSV to out: timestamp,value,baseline,score,alert, and with explain
 * also reason,threshold,span. Problems go to stderr as "FILE:LINE:
 * message"; returns 0, or 1 on bad input.
 */
int replay_counts(const char *path, const struct config_rule *rule,
		  int64_t bucket_ms, bool explain, FILE *out);

#endif
