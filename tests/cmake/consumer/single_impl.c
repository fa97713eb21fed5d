/* SPDX-License-Identifier: MIT */
/* The single header's implementation, in one C file of the program. */
#define WEFT_IMPLEMENTATION
#include <weft.h>
