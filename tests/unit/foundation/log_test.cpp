#include "joblib/log.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "stderr_capture.hpp"

TEST_CASE("set_log_handler routes messages and returns the previous handler") {
  std::vector<std::string> seen;
  auto previous = joblib::set_log_handler([&](joblib::log_level level, std::string_view m) {
    seen.push_back(std::string(joblib::log_level_name(level)) + ":" + std::string(m));
  });
  joblib::log(joblib::log_level::warning, "hello");
  joblib::log(joblib::log_level::info, "world");
  REQUIRE(seen == std::vector<std::string>{"warning:hello", "info:world"});
  auto mine = joblib::set_log_handler(std::move(previous));
  REQUIRE(static_cast<bool>(mine));
}

TEST_CASE("logging and replacing the handler from several threads is safe") {
  std::atomic<int> count{0};
  joblib::set_log_handler([&](joblib::log_level, std::string_view) { ++count; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t == 0 && i % 50 == 0) {
          joblib::set_log_handler([&](joblib::log_level, std::string_view) { ++count; });
        }
        joblib::log(joblib::log_level::debug, "x");
      }
    });
  }
  for (auto& th : threads) th.join();
  joblib::set_log_handler({});
  REQUIRE(count.load() == 800);
}

TEST_CASE("the default handler prints info lines as they are and prefixes the other levels") {
  joblib::set_log_handler({});
  test::stderr_capture capture;
  joblib::log(joblib::log_level::info, "[Parallel(n_jobs=2)]: Done   1 out of   2");
  joblib::log(joblib::log_level::warning, "disk full");
  REQUIRE(capture.text() ==
          "[Parallel(n_jobs=2)]: Done   1 out of   2\n[joblib] warning: disk full\n");
}
