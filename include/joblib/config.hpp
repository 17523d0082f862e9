// joblib-cpp: configuration macros shared by every header.
//
// The library lives in `namespace joblib { inline namespace v0 { ... } }` so that a future ABI
// break can move to `v1` while `joblib::name` keeps working in user code (the fmt technique).
#pragma once

#define JOBLIB_ABI_NAMESPACE v0

// Opens / closes the versioned library namespace; every public header uses this pair.
#define JOBLIB_BEGIN_NAMESPACE \
  namespace joblib {           \
  inline namespace JOBLIB_ABI_NAMESPACE {
#define JOBLIB_END_NAMESPACE \
  }                          \
  }

// Bounds checks in ndarray::operator() and similar debug-only assertions: on unless NDEBUG,
// or forced with -DJOBLIB_CHECKED=1 / -DJOBLIB_CHECKED=0.
#ifndef JOBLIB_CHECKED
#ifdef NDEBUG
#define JOBLIB_CHECKED 0
#else
#define JOBLIB_CHECKED 1
#endif
#endif

// ThreadSanitizer does not model std::atomic_thread_fence; lock-free code switches to
// equivalent seq_cst operations when it is on so that reports stay meaningful.
#if defined(__SANITIZE_THREAD__)
#define JOBLIB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOBLIB_TSAN 1
#endif
#endif
#ifndef JOBLIB_TSAN
#define JOBLIB_TSAN 0
#endif
