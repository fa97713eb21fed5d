/* SPDX-License-Identifier: MIT */
/* A system header before WEFT_IMPLEMENTATION: must stop with weft's #error
 * (run.sh checks the message), not with "CLOCK_MONOTONIC undeclared". */
#include <stdio.h>
#define WEFT_IMPLEMENTATION
#include "weft.h"

int main(void)
{
	puts(weft_strerror(WEFT_OK));
	return 0;
}
