/* SPDX-License-Identifier: MIT */
/*
 * Evaluation (daemon/evaluate.c): closing buckets by the watermark, their
 * totals through the store, detection in bucket order, the flush of open
 * buckets and the saving of detector states. Loop only.
 */
#ifndef HARK_DAEMON_EVALUATE_H
#define HARK_DAEMON_EVALUATE_H

#include <stdbool.h>

#include "daemon/chart.h"

struct hark;
struct rule_rt;

/*
 * Queues every bucket the watermark has closed (every bucket with events
 * at replay's end), rule by rule, and asks the store for each one's total;
 * each is judged when its total and those of the buckets before it are
 * in (hark_process).
 */
void evaluate_process(struct hark *h);
/* The fleet's members moved (or it stopped answering): the buckets they
 * have all passed are read again and judged. */
void evaluate_fleet_moved(struct hark *h);
/* Stopping: buckets still waiting for the fleet are left unjudged (the
 * members staying judge them; a restart would from the stored totals). */
void evaluate_abandon_waiting(struct hark *h);
/* Frees the buckets r has queued and not judged (a rule dropped). */
void evaluate_drop_queue(struct rule_rt *r);
/*
 * Every store.flush_interval, each rule that counted since its last flush
 * writes its open buckets' counts so far (one pipelined round of writes):
 * what a crash loses. At stop (all), every open bucket.
 */
void evaluate_flush_open(struct hark *h, bool all);
/* Writes r's detector state, and the judged buckets it holds, now. */
void evaluate_save_state(struct hark *h, struct rule_rt *r);
/*
 * Saves the states evaluation left dirty: at most one write per rule per
 * tick however many of its buckets closed meanwhile (catching up on
 * history closes hundreds a second). A crash loses nothing: the counts
 * of those buckets were stored before they were judged, and a restarted
 * daemon resumes at the saved state's next bucket and judges them again
 * from their stored totals.
 */
void evaluate_save_dirty(struct hark *h);
/* Reads the saved state of every rule not loaded yet (at start, or added
 * by a reload); a rule is loaded once its state is restored, or none was
 * saved. The daemon serves once every rule and notify_load are done. */
void evaluate_load_rules(struct hark *h);
/* Where rule r's judged buckets are kept (its chart, daemon/chart.h). */
struct chart_where evaluate_chart_where(const struct hark *h,
					const struct rule_rt *r);

#endif
