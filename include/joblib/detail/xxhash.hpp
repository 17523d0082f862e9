// joblib-cpp internals: the one place that includes xxHash.
//
// Header-only use: XXH_INLINE_ALL lets the compiler inline XXH3 into its callers (small
// hashes, such as cache keys, get fast), and every translation unit gets the same static
// definitions whichever of our headers includes xxhash.h first.
#pragma once

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>
