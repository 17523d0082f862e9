// joblib-cpp: joblib::parallel on every rank of an MPI job (backend::mpi).
//
//   #include <joblib/mpi.hpp>          // target joblib::mpi (find_package(joblib COMPONENTS mpi))
//   int main(int argc, char** argv) {
//     joblib::mpi::session mpi(argc, argv);                    // MPI_Init_thread .. MPI_Finalize
//     auto grid = make_grid();                                 // the same on every rank
//     auto r = joblib::parallel({.n_jobs = -1, .backend = joblib::backend::mpi})(
//         grid | std::views::transform(joblib::delayed(simulate)));
//     if (mpi.rank() == 0) joblib::dump(r, "sweep.jl");        // every rank has r
//   }
//   // mpirun -np 64 ./sweep
//
// Every rank makes the same call over the same tasks (SPMD). Only task indices travel out and
// the results' serialized bytes travel back, so lambdas with captures work and arguments are
// never serialized. Rank 0 hands out batches (auto batching, as the other backends do) and
// computes too; each rank runs its batches on n_jobs threads. Every rank returns the full
// std::vector<R> in input order (results_on_root_only keeps them on rank 0). The first task
// exception on any rank is rethrown on every rank, its type kept as the process backend keeps
// it. Without a session of several ranks the call runs on the thread backend.
#pragma once

#include "joblib/mpi/session.hpp"
#include "joblib/parallel.hpp"
