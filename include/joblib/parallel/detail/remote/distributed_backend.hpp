// joblib-cpp internals: the boundary between joblib::parallel and a distributed backend.
//
// joblib::parallel knows no MPI. A distributed backend (joblib::mpi::session, from
// <joblib/mpi.hpp>) installs itself here while it lives; a call with backend::mpi hands it a
// distributed_call, type-erased at the batch: run a batch of task indices into bytes, store
// a batch's bytes into the results. Everything per task stays in templates on this side.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/parallel/detail/remote/encoded_batch.hpp"
#include "joblib/parallel/options.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace detail {

/// One list call as a distributed backend runs it. The same on every rank.
struct distributed_call {
  std::size_t total = 0;
  /// Identifies the call site (a hash of the task range's type): ranks that reach different
  /// calls are told so instead of exchanging each other's tasks.
  std::uint64_t signature = 0;
  const parallel_options* options = nullptr;  // batch_size, progress, stop, timeout...
  bool results_on_root_only = false;
  bool void_results = false;
  /// Runs tasks [first, first + count) on this rank; see run_encoded_batch.
  std::function<std::optional<failed_task>(std::size_t first, std::size_t count,
                                           std::vector<std::byte>& out)>
      run;
  /// Decodes the values of tasks [first, first + count) into this rank's results.
  std::function<void(std::size_t first, std::size_t count, std::span<const std::byte> bytes)> store;
};

/// A backend that runs a call on several processes (ranks), every one of which makes it.
class distributed_backend {
 public:
  virtual ~distributed_backend() = default;
  /// Whether a call made now, on this thread, runs on every rank: only on the thread that
  /// started the session, and not from a task of a call already running (such a call runs on
  /// this rank's threads: the other ranks do not make it).
  virtual bool takes_call_here() const noexcept = 0;
  /// Runs `call` together with the other ranks. Returns once this rank's results are stored
  /// (none on a rank other than 0 when call.results_on_root_only); throws the call's failure
  /// on every rank.
  virtual void run(distributed_call& call) = 0;
};

/// The installed backend, or nullptr (no session, or a session of one rank).
inline std::atomic<distributed_backend*>& installed_distributed_backend() noexcept {
  static std::atomic<distributed_backend*> backend{nullptr};
  return backend;
}

}  // namespace detail
JOBLIB_END_NAMESPACE
