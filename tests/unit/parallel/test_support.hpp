// Helpers shared by the parallel tests.
#pragma once

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>

namespace test {

/// An input range of unknown length (single pass, no size): yields 0, 1, ..., n-1 as
/// deferred calls `f(i)`, like a Python generator expression.
template <class F>
class counting_calls {
 public:
  counting_calls(int n, F f, int throw_at = -1) : n_(n), f_(std::move(f)), throw_at_(throw_at) {}

  struct call {
    F f;
    int i;
    auto operator()() const { return f(i); }
  };
  class iterator {
   public:
    using value_type = call;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(counting_calls* owner) : owner_(owner) {}
    call operator*() const {
      if (owner_->next_ == owner_->throw_at_) throw std::runtime_error("input broke");
      return call{owner_->f_, owner_->next_};
    }
    iterator& operator++() {
      ++owner_->next_;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.owner_->next_ >= it.owner_->n_;
    }

   private:
    counting_calls* owner_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

  // Public so that the iterator's hidden friends can read them.
  int n_;
  F f_;
  int throw_at_;
  int next_ = 0;
};

}  // namespace test
