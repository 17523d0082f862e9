#include "joblib/parallel/thread_pool.hpp"

#include "joblib/parallel/task_group.hpp"

#include <time.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

TEST_CASE("submit returns results and exceptions through futures") {
  joblib::thread_pool pool(2);
  CHECK(pool.size() == 2);
  auto answer = pool.submit([] { return 42; });
  auto failure = pool.submit([]() -> int { throw std::out_of_range("no"); });
  CHECK(answer.get() == 42);
  REQUIRE_THROWS_AS(failure.get(), std::out_of_range);
}

TEST_CASE("run + wait runs everything and rethrows the first exception") {
  joblib::thread_pool pool(3);
  std::atomic<int> count{0};
  for (int i = 0; i < 10000; ++i) pool.run([&] { ++count; });
  pool.wait();
  CHECK(count.load() == 10000);

  pool.run([] { throw std::length_error("bad"); });
  REQUIRE_THROWS_AS(pool.wait(), std::length_error);
  pool.run([&] { ++count; });
  pool.wait();  // the error was consumed; the pool still works
  CHECK(count.load() == 10001);
}

TEST_CASE("parallel_for visits every index once, and rethrows") {
  joblib::thread_pool pool(2);
  std::vector<std::atomic<int>> hits(10007);
  pool.parallel_for(0, 10007, [&](int i) { hits[static_cast<std::size_t>(i)]++; });
  for (auto& h : hits) CHECK(h.load() == 1);
  pool.parallel_for(5, 5, [](int) { FAIL("empty range"); });
  REQUIRE_THROWS_AS(pool.parallel_for(0, 100,
                                      [](int i) {
                                        if (i == 50) throw std::domain_error("fifty");
                                      }),
                    std::domain_error);
}

TEST_CASE("parallel_for gives each thread its own worker slot, below max_workers") {
  joblib::thread_pool pool(3);
  for (unsigned max_workers : {0u, 1u, 2u, 8u}) {
    const unsigned slots = max_workers == 0 ? pool.size() : std::min(max_workers, pool.size());
    std::vector<std::atomic<int>> hits(2000);
    std::vector<std::atomic<int>> inside(slots);
    std::atomic<bool> bad{false};  // Catch2 v2 assertions are not thread-safe
    pool.parallel_for(
        std::size_t{0}, std::size_t{2000},
        [&](std::size_t i, unsigned worker) {
          if (worker >= slots || inside[worker].fetch_add(1) != 0) bad = true;
          hits[i]++;
          std::this_thread::yield();
          if (worker < slots) inside[worker].fetch_sub(1);
        },
        max_workers);
    REQUIRE_FALSE(bad.load());
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
}

TEST_CASE("task groups nest inside tasks without deadlock") {
  joblib::thread_pool pool(2);
  struct fib {
    joblib::thread_pool& pool;
    long operator()(int n) const {
      if (n < 2) return n;
      long left = 0;
      joblib::task_group group(pool);
      group.run([&] { left = (*this)(n - 1); });
      const long right = (*this)(n - 2);
      group.wait();
      return left + right;
    }
  };
  CHECK(fib{pool}(20) == 6765);
}

TEST_CASE("a task group rethrows the first exception of its tasks") {
  joblib::task_group group;
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    group.run([&, i] {
      ++ran;
      if (i == 10) throw std::runtime_error("ten");
    });
  }
  REQUIRE_THROWS_WITH(group.wait(), "ten");
  group.run([&] { ++ran; });
  group.wait();
}

TEST_CASE("an idle pool sleeps instead of spinning") {
  joblib::thread_pool pool(2);
  pool.run([] {});
  pool.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the workers go to sleep
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = process_cpu_seconds() - before;
  // Two spinning workers would burn ~0.6 s of CPU here; sleeping ones burn almost nothing.
  CHECK(used < 0.05);
}

TEST_CASE("tasks submitted from outside and from inside the pool all run") {
  joblib::thread_pool pool(2);
  std::atomic<int> count{0};
  for (int i = 0; i < 100; ++i) {
    pool.run([&] {
      for (int k = 0; k < 10; ++k) pool.run([&] { ++count; });
    });
  }
  pool.wait();
  CHECK(count.load() == 1000);
}

TEST_CASE("destroying a pool runs what is queued") {
  std::atomic<int> count{0};
  {
    joblib::thread_pool pool(1);
    for (int i = 0; i < 1000; ++i) pool.run([&] { ++count; });
  }
  CHECK(count.load() == 1000);
}

namespace {
// A task the test owns: it records that it ran instead of deleting itself.
struct probe_task final : joblib::detail::task_base {
  void run_and_delete() noexcept override { ran.store(true); }
  std::atomic<bool> ran{false};
};
}  // namespace

TEST_CASE("work_stealing_deque::take_if removes only the bottom item") {
  joblib::detail::work_stealing_deque<probe_task> deque;
  probe_task a, b;
  deque.push(&a);
  deque.push(&b);
  CHECK_FALSE(deque.take_if(&a));
  CHECK(deque.take_if(&b));
  CHECK_FALSE(deque.take_if(&b));
  CHECK(deque.take() == &a);
  CHECK_FALSE(deque.take_if(&a));
}

TEST_CASE("take_back withdraws only the newest task this thread queued") {
  using access = joblib::detail::pool_access;
  joblib::thread_pool pool(1);
  std::atomic<bool> started{false}, release{false};
  pool.run([&] {
    started = true;
    while (!release) std::this_thread::yield();
  });
  while (!started) std::this_thread::yield();

  // From outside the pool: the back of the injection queue.
  probe_task a, b;
  access::spawn(pool, &a);
  access::spawn(pool, &b);
  CHECK_FALSE(access::take_back(pool, &a));
  CHECK(access::take_back(pool, &b));
  CHECK_FALSE(access::take_back(pool, &b));

  // From a worker: the bottom of its own deque.
  probe_task c, d, e;
  std::atomic<int> inside{0};
  pool.run([&] {
    access::spawn(pool, &c);
    inside += access::take_back(pool, &c) ? 1 : 100;
    access::spawn(pool, &d);
    access::spawn(pool, &e);
    inside += access::take_back(pool, &d) ? 100 : 1;
    inside += access::take_back(pool, &e) ? 1 : 100;
  });
  release = true;
  pool.wait();
  access::wait_until(pool, [&] { return a.ran.load() && d.ran.load(); });
  CHECK(inside.load() == 3);
  CHECK(a.ran.load());
  CHECK(d.ran.load());
  CHECK_FALSE(b.ran.load());
  CHECK_FALSE(c.ran.load());
  CHECK_FALSE(e.ran.load());
}
