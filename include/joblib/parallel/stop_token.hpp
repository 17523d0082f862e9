// joblib-cpp: the cancellation token of parallel_options::stop.
//
// joblib::stop_token / joblib::stop_source are std::stop_token / std::stop_source wherever the
// standard library has them (libstdc++ 10 and later). libc++ 16, Debian 12's, ships no
// <stop_token>; there the library defines a minimal pair with the same members it and its
// users need, so the library builds with either standard library. Code that names
// joblib::stop_source works with both; code that uses std::stop_source works where it exists.
//
//   joblib::stop_source stop;
//   std::thread watchdog([&] { std::this_thread::sleep_for(10s); stop.request_stop(); });
//   joblib::parallel({.n_jobs = -1, .stop = stop.get_token()})(tasks);  // cancelled_error
#pragma once

#include <version>

#include "joblib/config.hpp"

#if defined(__cpp_lib_jthread)
#include <stop_token>
#else
#include <atomic>
#include <memory>
#include <utility>
#endif

JOBLIB_BEGIN_NAMESPACE

#if defined(__cpp_lib_jthread)

using std::stop_source;
using std::stop_token;

#else

class stop_source;

/// A view of a stop_source's state: whether a stop was requested. A default-constructed token
/// has no source: stop is never requested and not possible.
class stop_token {
 public:
  stop_token() noexcept = default;
  /// True once the source's request_stop() was called.
  bool stop_requested() const noexcept {
    return state_ != nullptr && state_->load(std::memory_order_acquire);
  }
  /// False for a token without a source.
  bool stop_possible() const noexcept { return state_ != nullptr; }

 private:
  friend class stop_source;
  explicit stop_token(std::shared_ptr<const std::atomic<bool> > state) noexcept
      : state_(std::move(state)) {}
  std::shared_ptr<const std::atomic<bool> > state_;
};

/// Requests a stop that every token it handed out sees. Thread-safe.
class stop_source {
 public:
  stop_source() : state_(std::make_shared<std::atomic<bool> >(false)) {}
  /// A token that sees this source's stop request.
  stop_token get_token() const noexcept { return stop_token(state_); }
  /// Requests the stop; true for the call that made the request.
  bool request_stop() noexcept { return !state_->exchange(true, std::memory_order_acq_rel); }
  /// True once a stop was requested.
  bool stop_requested() const noexcept { return state_->load(std::memory_order_acquire); }
  bool stop_possible() const noexcept { return true; }

 private:
  std::shared_ptr<std::atomic<bool> > state_;
};

#endif

JOBLIB_END_NAMESPACE
