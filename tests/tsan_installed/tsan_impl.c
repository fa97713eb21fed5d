/* SPDX-License-Identifier: MIT */
/* The single header's implementation for tsan_all.c's dist/weft.h build
 * (mk/tsan_installed.mk): this one file defines WEFT_IMPLEMENTATION. */
#define WEFT_IMPLEMENTATION
#include "weft.h"
