/* SPDX-License-Identifier: MIT */
#ifndef WEFT_SRC_RWLOCK_INTERNAL_H
#define WEFT_SRC_RWLOCK_INTERNAL_H

/*
 * rwlock_internal.h - what src/rwlock.c, src/rwlock_bias.c and src/brlock.c
 * share: the spin budget of weft_rwlock_set_spin().  (Their word locks, the
 * rwlock's queue and the brlock's writers' mutex, are src/wordlock.h.)
 */

/* The spin budget of every rwlock and brlock waiter (weft_rwlock_set_spin()). */
unsigned weft__rwlock_spin_budget(void);

#endif /* WEFT_SRC_RWLOCK_INTERNAL_H */
