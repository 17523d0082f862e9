// joblib-cpp: joblib::generator<R>, the lazy result of parallel(...).generator(tasks) and
// parallel(...).generator_unordered(tasks).
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// The source behind a generator: next() returns the next result, or an empty optional at
/// the end, and rethrows the first task exception. Destroying it cancels what has not started
/// and waits for what runs.
template <class R>
class result_stream {
 public:
  virtual ~result_stream() = default;
  virtual std::optional<R> next() = 0;
};

}  // namespace detail

/// Results of a parallel call as they are produced: a single-pass, move-only input range
/// (std::ranges::input_range). Tasks start at the call, with at most pre_dispatch batches
/// dispatched ahead of what the consumer took; destroying the generator early cancels the
/// tasks not yet started (and waits for running ones). Iterating rethrows the first exception
/// a task threw.
///
///   for (double x : joblib::parallel({.n_jobs = 4}).generator(tasks)) use(x);
///   auto gen = joblib::parallel({.n_jobs = 4}).generator_unordered(tasks);
///   auto first = *gen.begin();   // the first result to complete
///
/// Thread safety: one thread consumes a generator.
template <class R>
class generator {
 public:
  using value_type = R;

  /// Input iterator: `*it` is the current result (R&, movable from), `++it` waits for the next.
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using value_type = R;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    R& operator*() const { return *owner_->current_; }
    R* operator->() const { return &*owner_->current_; }
    iterator& operator++() {
      owner_->pull();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class generator;
    explicit iterator(generator* owner) : owner_(owner) {}
    bool at_end() const { return !owner_->current_.has_value(); }
    generator* owner_ = nullptr;
  };

  generator(generator&&) noexcept = default;
  generator& operator=(generator&&) noexcept = default;
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;
  ~generator() = default;

  /// The current position; the first call waits for the first result. Single pass: a later
  /// call continues where the last iterator stopped.
  iterator begin() {
    if (!started_) {
      started_ = true;
      pull();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  /// For parallel(...).generator(): wraps the call's result stream.
  explicit generator(std::unique_ptr<detail::result_stream<R>> stream)
      : stream_(std::move(stream)) {}

 private:
  void pull() {
    current_.reset();
    current_ = stream_->next();
  }

  std::unique_ptr<detail::result_stream<R>> stream_;
  std::optional<R> current_;
  bool started_ = false;
};

JOBLIB_END_NAMESPACE
