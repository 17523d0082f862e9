// joblib-cpp: what joblib::parallel returns.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// A lazy source of results (the generator modes). next() returns the next result, or an
/// empty optional at the end; it rethrows the first task exception.
template <class R>
class result_stream {
 public:
  virtual ~result_stream() = default;
  virtual std::optional<R> next() = 0;
};

}  // namespace detail

/// The results of a parallel call.
///
/// With return_as::list (the default) it holds every result in input order and behaves like
/// the std::vector<R> it converts to: size(), operator[], vector(), range-for, ==.
/// With return_as::generator / generator_unordered it is a single-pass input range that
/// yields results as tasks finish (in input or completion order), keeping at most
/// pre_dispatch batches in flight; destroying it early cancels the tasks not yet started.
///
///   std::vector<int> squares = joblib::parallel({.n_jobs = 4})(calls);
///   for (int x : joblib::parallel({.return_as = joblib::return_as::generator})(calls)) use(x);
///
/// Thread safety: like a std::vector; a generator is consumed by one thread.
template <class R>
class parallel_result {
 public:
  /// A finished list of results.
  explicit parallel_result(std::vector<R> values) : values_(std::move(values)) {}
  /// A lazy stream of results.
  explicit parallel_result(std::unique_ptr<detail::result_stream<R>> stream)
      : stream_(std::move(stream)) {}

  /// std::vector<bool> hands out proxies, so bool results are read by value.
  using reference = std::conditional_t<std::is_same_v<R, bool>, bool, R&>;

  /// Input iterator over the results (for lists, over the stored values). begin() and end()
  /// have the same type, so classic algorithms (std::accumulate, ...) work too.
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using reference = parallel_result::reference;
    using pointer = void;

    iterator() = default;
    reference operator*() const { return owner_->current(index_); }
    iterator& operator++() {
      owner_->advance(index_);
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) {
      if (a.is_end_ || b.is_end_) return (a.is_end_ || a.done()) && (b.is_end_ || b.done());
      return a.index_ == b.index_;
    }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.done(); }

   private:
    friend class parallel_result;
    iterator(parallel_result* owner, std::size_t index, bool is_end)
        : owner_(owner), index_(index), is_end_(is_end) {}
    bool done() const { return owner_->at_end(index_); }
    parallel_result* owner_ = nullptr;
    std::size_t index_ = 0;
    bool is_end_ = false;
  };

  /// Starts the iteration. A generator can be iterated once.
  iterator begin() {
    if (stream_ && !started_) {
      started_ = true;
      pull();
    }
    return iterator(this, 0, false);
  }
  iterator end() noexcept { return iterator(this, 0, true); }

  /// True for the generator modes.
  bool is_generator() const noexcept { return static_cast<bool>(stream_); }

  /// Number of results (lists only; throws std::logic_error for a generator).
  std::size_t size() const { return list().size(); }
  bool empty() const { return list().empty(); }
  typename std::vector<R>::reference operator[](std::size_t i) { return list()[i]; }
  typename std::vector<R>::const_reference operator[](std::size_t i) const { return list()[i]; }

  /// The results as a vector (lists only; throws std::logic_error for a generator).
  std::vector<R>& vector() & { return list(); }
  const std::vector<R>& vector() const& { return list(); }

  /// Every result as a vector; a generator is drained to its end.
  std::vector<R> to_vector() && {
    if (!stream_) return std::move(values_);
    std::vector<R> all;
    for (auto& value : *this) all.push_back(std::move(value));
    return all;
  }
  operator std::vector<R>() && { return std::move(*this).to_vector(); }
  operator std::vector<R>() const& { return list(); }

  friend bool operator==(const parallel_result& a, const std::vector<R>& b) {
    return a.list() == b;
  }

 private:
  std::vector<R>& list() {
    if (stream_) throw std::logic_error("joblib: a generator result has no size or index");
    return values_;
  }
  const std::vector<R>& list() const {
    if (stream_) throw std::logic_error("joblib: a generator result has no size or index");
    return values_;
  }

  void pull() { current_ = stream_->next(); }
  reference current(std::size_t index) {
    if (stream_) return *current_;
    return values_[index];
  }
  void advance(std::size_t& index) {
    if (stream_) {
      pull();
    } else {
      ++index;
    }
  }
  bool at_end(std::size_t index) const {
    return stream_ ? !current_.has_value() : index >= values_.size();
  }

  std::vector<R> values_;
  std::unique_ptr<detail::result_stream<R>> stream_;
  std::optional<R> current_;
  bool started_ = false;
};

JOBLIB_END_NAMESPACE
