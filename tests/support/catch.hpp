// The one include shim between our tests and Catch2: Debian 12 ships Catch2 v2 (a single
// header), newer systems ship v3 (split headers). Tests include this file only and use the
// macros common to both (TEST_CASE, SECTION, REQUIRE, CHECK, REQUIRE_THROWS_AS, GENERATE, ...).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define JOBLIB_CATCH2_MAJOR 3
#else
#include <catch2/catch.hpp>
#define JOBLIB_CATCH2_MAJOR 2
#endif
