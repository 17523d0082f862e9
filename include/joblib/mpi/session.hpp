// joblib-cpp: the MPI session that backend::mpi calls run on.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "joblib/config.hpp"
#include "joblib/errors.hpp"
#include "joblib/mpi/detail/messages.hpp"
#include "joblib/mpi/detail/ranks_call.hpp"
#include "joblib/parallel/detail/remote/distributed_backend.hpp"

JOBLIB_BEGIN_NAMESPACE
namespace mpi {

/// MPI for the lifetime of a scope: initializes MPI (MPI_Init_thread, MPI_THREAD_FUNNELED:
/// tasks run on other threads, only this one calls MPI) unless the program already did, and
/// finalizes it if it initialized it. While it lives, joblib::parallel calls with
/// backend::mpi made on this thread run on every rank of the job.
///
/// Every rank must make the same backend::mpi calls in the same order with the same number of
/// tasks. Each call first checks that (a collective over the ranks): ranks that reached
/// different calls, or a rank whose session ended while others still call, get a
/// joblib::error on every rank naming what each rank reached, not a hang (every rank leaves
/// that call; whether later calls meet again is the program's doing). Once a rank's session
/// has ended, every later backend::mpi call on the others throws without communicating.
///
/// The session works on its own duplicate of MPI_COMM_WORLD, so its messages never meet the
/// program's. One session at a time per process.
///
///   int main(int argc, char** argv) {
///     joblib::mpi::session mpi(argc, argv);
///     auto r = joblib::parallel({.n_jobs = -1, .backend = joblib::backend::mpi})(tasks);
///     if (mpi.rank() == 0) joblib::dump(r, "sweep.jl");
///   }
class session final : private joblib::detail::distributed_backend {
 public:
  /// Initializes MPI with the program's arguments (as MPI_Init_thread takes them).
  session(int& argc, char**& argv) : session(&argc, &argv) {}
  /// Initializes MPI without arguments.
  session() : session(nullptr, nullptr) {}

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  ~session() override {
    auto& installed = joblib::detail::installed_distributed_backend();
    joblib::detail::distributed_backend* self = this;
    installed.compare_exchange_strong(self, nullptr);
    try {
      // Ranks still making calls learn that this one makes no more.
      if (size_ > 1 && !peer_ended_) agree_on_call(end_of_calls, 0, 0);
    } catch (...) {
      // Nothing to tell the program from a destructor; the others got their error.
    }
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  /// This process's rank in MPI_COMM_WORLD.
  int rank() const noexcept { return rank_; }
  /// The number of ranks.
  int size() const noexcept { return size_; }
  /// The communicator backend::mpi calls use (a duplicate of MPI_COMM_WORLD).
  MPI_Comm communicator() const noexcept { return comm_; }

 private:
  // A call's signature that marks a rank whose session ended.
  static constexpr std::uint64_t end_of_calls = ~std::uint64_t{0};

  session(int* argc, char*** argv) {
    int initialized = 0;
    detail::check(MPI_Initialized(&initialized), "MPI_Initialized");
    int provided = 0;
    if (initialized) {
      detail::check(MPI_Query_thread(&provided), "MPI_Query_thread");
    } else {
      detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    if (provided < MPI_THREAD_FUNNELED) {
      if (owns_mpi_) MPI_Finalize();
      throw error(
          "joblib: this MPI provides no thread support (MPI_THREAD_FUNNELED), which "
          "backend::mpi needs to run tasks on threads");
    }
    detail::check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    if (size_ > 1) {
      joblib::detail::distributed_backend* expected = nullptr;
      if (!joblib::detail::installed_distributed_backend().compare_exchange_strong(expected,
                                                                                   this)) {
        MPI_Comm_free(&comm_);
        if (owns_mpi_) MPI_Finalize();
        throw invalid_argument("joblib: a joblib::mpi::session already exists in this process");
      }
    }
  }

  bool takes_call_here() const noexcept override {
    // The thread first: only the session's thread touches running_.
    return std::this_thread::get_id() == thread_ && !running_;
  }

  void run(joblib::detail::distributed_call& call) override {
    struct running_scope {
      bool& flag;
      explicit running_scope(bool& f) : flag(f) { flag = true; }
      ~running_scope() { flag = false; }
    } scope(running_);
    if (peer_ended_) throw error(peer_ended_message_);
    agree_on_call(call.signature, call.total, ++calls_);
    detail::ranks_call(comm_, rank_, size_, call).run();
  }

  // Checks that every rank reached the same call (site, task count, sequence number); throws
  // the same joblib::error on every rank otherwise.
  void agree_on_call(std::uint64_t signature, std::uint64_t total, std::uint64_t sequence) {
    const std::uint64_t mine[3] = {signature, total, sequence};
    std::vector<std::uint64_t> all(3 * static_cast<std::size_t>(size_));
    detail::check(MPI_Allgather(mine, 3, MPI_UINT64_T, all.data(), 3, MPI_UINT64_T, comm_),
                  "MPI_Allgather");
    const auto describe = [&](int r) {
      const std::uint64_t* a = &all[3 * static_cast<std::size_t>(r)];
      if (a[0] == end_of_calls)
        return "rank " + std::to_string(r) + ": no more calls (its session ended)";
      char site[17];
      std::snprintf(site, sizeof site, "%08llx", static_cast<unsigned long long>(a[0] >> 32));
      return "rank " + std::to_string(r) + ": call " + std::to_string(a[2]) + " at site " + site +
             ", " + std::to_string(a[1]) + " tasks";
    };
    std::string differ;
    int shown = 0;
    for (int r = 1; r < size_; ++r) {
      const auto theirs = all.begin() + 3 * static_cast<std::ptrdiff_t>(r);
      if (std::equal(theirs, theirs + 3, all.begin())) continue;
      if (shown++ < 3) differ += "; " + describe(r);
    }
    if (shown == 0) return;
    const std::string message =
        "joblib: the ranks of this MPI job reached different backend::mpi calls (every rank "
        "must make the same calls, in the same order, with the same number of tasks): " +
        describe(0) + differ + (shown > 3 ? "; and " + std::to_string(shown - 3) + " more" : "");
    for (int r = 0; r < size_; ++r) {
      // A rank that ended makes no more collective calls: no later call may wait for it.
      if (all[3 * static_cast<std::size_t>(r)] == end_of_calls) {
        peer_ended_ = true;
        peer_ended_message_ = message;
      }
    }
    throw error(message);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
  std::thread::id thread_ = std::this_thread::get_id();
  bool running_ = false;
  bool peer_ended_ = false;  // some rank's session ended (this one's, in its destructor)
  std::string peer_ended_message_;
  std::uint64_t calls_ = 0;
};

}  // namespace mpi
JOBLIB_END_NAMESPACE
