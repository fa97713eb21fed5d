/* SPDX-License-Identifier: MIT */
/* The one C file that holds the implementation, for cxx_user.cpp. */
#define WEFT_IMPLEMENTATION
#include "weft.h"
