// Test helper: a fresh, empty directory per test, removed when the test ends (passed or not).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace test {

/// A new empty directory under the system temp directory, named after the test and process;
/// removed with everything in it when the object goes out of scope, even when the test fails.
/// Converts to the std::filesystem::path it names, and `dir / "file"` works as for a path.
///
///   test::temp_dir dir("persist_roundtrip");
///   joblib::dump(v, dir / "v.jl");
class temp_dir {
 public:
  explicit temp_dir(std::string_view name)
      : path_(std::filesystem::temp_directory_path() /
              ("joblib_test_" + std::string(name) + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    // A test may leave read-only folders behind; make them writable so they can go.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ignored);
         !ignored && it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
      if (it->is_directory(ignored)) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
      }
    }
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  operator const std::filesystem::path&() const noexcept { return path_; }  // NOLINT
  template <class Part>
  std::filesystem::path operator/(const Part& part) const {
    return path_ / part;
  }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace test
