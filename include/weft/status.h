/* SPDX-License-Identifier: MIT */
#ifndef WEFT_STATUS_H
#define WEFT_STATUS_H

/*
 * status.h - the status codes every weft call returns.  weft never sets or
 * returns errno; a system call's errno is saved and restored around it.
 */

#include "config.h"

WEFT_EXTERN_C_BEGIN

enum weft_status {
	WEFT_OK = 0,        /* success */
	WEFT_EBUSY = 1,     /* the object is held or in use */
	WEFT_ETIMEDOUT = 2, /* the deadline passed before the operation could complete */
	WEFT_EINVAL = 3,    /* an argument is out of range (flags, sizes, a malformed timespec) */
	WEFT_EOVERFLOW = 4, /* the operation would pass a counter's maximum; nothing changed */
	WEFT_ENOMEM = 5,    /* memory could not be allocated */
	WEFT_ECLOSED = 6,   /* the object was closed */
	WEFT_EOWNERDEAD = 7,       /* a robust mutex is held now; its last holder died holding it */
	WEFT_ENOTRECOVERABLE = 8,  /* a robust mutex was unlocked after a death without being made consistent */
	WEFT_ENOTSUP = 9,          /* not supported on this system (a robust mutex off Linux/glibc's layout) */
	WEFT_ECANCELED = 10        /* the wait was cancelled (weft_cancel_t); the operation was not performed */
};
/* WEFT_OK is also a literal 0: clang's thread-safety analysis reads "rc == 0"
 * but not an enumerator, and the timed locks acquire when they return WEFT_OK
 * (config.h). */
#define WEFT_OK 0

/**
 * weft_strerror() - a short English description of a status code.
 * @code: a WEFT_* status.
 *
 * Context: any; async-signal-safe (returns a static string).
 * Return: the description, or "unknown weft status" for a code not listed above.
 */
const char *weft_strerror(int code);

WEFT_EXTERN_C_END

#endif /* WEFT_STATUS_H */
