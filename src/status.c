/* SPDX-License-Identifier: MIT */
#include "weft/status.h"

const char *weft_strerror(int code)
{
	switch (code) {
	case WEFT_OK:
		return "success";
	case WEFT_EBUSY:
		return "resource busy";
	case WEFT_ETIMEDOUT:
		return "deadline passed";
	case WEFT_EINVAL:
		return "invalid argument";
	case WEFT_EOVERFLOW:
		return "count would overflow";
	case WEFT_ENOMEM:
		return "out of memory";
	case WEFT_ECLOSED:
		return "object closed";
	case WEFT_EOWNERDEAD:
		return "previous owner died; repair the data, then make the mutex consistent";
	case WEFT_ENOTRECOVERABLE:
		return "mutex not recoverable: unlocked after an owner died without being made consistent";
	case WEFT_ENOTSUP:
		return "not supported on this system";
	case WEFT_ECANCELED:
		return "wait cancelled";
	default:
		return "unknown weft status";
	}
}
