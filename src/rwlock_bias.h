/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_RWLOCK_BIAS_H
#define WEFT_SRC_RWLOCK_BIAS_H

/*
 * rwlock_bias.h - the writer's half of weft_rwlock_t's reader bias (BRAVO; the
 * reader's half and the table are in include/weft/rwlock_bias.h): the scan of
 * the visible-readers table and the inhibit policy.  src/rwlock.c owns the
 * BIASED bit of the state word and calls these around its changes of it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "weft/rwlock.h"

/* Whether counted readers may turn bias (back) on for @rw now: bias is on
 * process-wide (weft_rwlock_set_bias()) and no recent revocation inhibits
 * it.  Clears an expired inhibit. */
bool weft__rwlock_bias_allowed(const weft_rwlock_t *rw);

/* CLOCK_MONOTONIC now, in ns: the start of a revocation. */
uint64_t weft__rwlock_bias_now(void);

/* A revocation of @rw that began at @t0 has ended: inhibit bias for N times
 * what it took (Dice and Kogan's policy). */
void weft__rwlock_bias_inhibit(const weft_rwlock_t *rw, uint64_t t0);

/*
 * Scan the table for slots that hold @rw, after the caller cleared BIASED
 * (seq_cst): wait for each to empty, or with @try_only fail at the first.
 * Return: WEFT_OK (no biased reader of @rw inside), WEFT_EBUSY (@try_only)
 * or WEFT_ETIMEDOUT at @deadline.
 */
int weft__rwlock_bias_scan(weft_rwlock_t *rw, bool try_only, const struct timespec *deadline);

#endif /* WEFT_SRC_RWLOCK_BIAS_H */
