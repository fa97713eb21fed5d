// SPDX-License-Identifier: MIT
// The implementation in a C++ file: must stop with weft's #error saying it
// must be C (run.sh checks the message).
#define WEFT_IMPLEMENTATION
#include "weft.h"

int main()
{
	return 0;
}
