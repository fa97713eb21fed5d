/* SPDX-License-Identifier: MIT */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

/* weft.h - every public weft header.  See README.md and docs/. */

#include "config.h"
#include "status.h"
#include "deadline.h"
#include "atomic.h"
#include "spinlock.h"
#include "mutex.h"
#include "robust.h"
#include "counter.h"
#include "pool.h"
#include "rwlock.h"
#include "brlock.h"
#include "cancel.h"
#include "cond.h"
#include "sem.h"
#include "once.h"
#include "barrier.h"
#include "latch.h"
#include "mpmc.h"

#endif /* WEFT_WEFT_H */
