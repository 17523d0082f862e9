// joblib-cpp umbrella header: includes every pillar of the library.
//
//   #include <joblib/joblib.hpp>
//
// Prefer the narrower headers (<joblib/parallel.hpp>, <joblib/hash.hpp>, ...) when a translation
// unit needs only one of them: <joblib/parallel.hpp> pulls in no zstd, xxHash or json.
#pragma once

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/hash.hpp"
#include "joblib/log.hpp"
#include "joblib/memory.hpp"
#include "joblib/ndarray.hpp"
#include "joblib/parallel.hpp"
#include "joblib/persist.hpp"
#include "joblib/serialize.hpp"
#include "joblib/version.hpp"
