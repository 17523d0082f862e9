// joblib-cpp internals: a unit of work in the thread pool.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "joblib/config.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// A unit of work in the pool. run() executes it exactly once and then deletes it.
struct task_base {
  virtual void run_and_delete() noexcept = 0;

 protected:
  ~task_base() = default;
};

template <class F>
struct task_impl final : task_base {
  explicit task_impl(F&& f) : fn(std::move(f)) {}
  void run_and_delete() noexcept override {
    std::unique_ptr<task_impl> self(this);
    fn();  // F is noexcept by construction (wrappers catch and record exceptions)
  }
  F fn;
};

template <class F>
task_base* make_task(F&& f) {
  return new task_impl<std::decay_t<F>>(std::forward<F>(f));
}

}  // namespace detail
JOBLIB_END_NAMESPACE
