// The README's demo: a short tour of joblib-cpp. Run it with `bash scripts/demo.sh`.
// (This first version shows the foundation only; each pillar adds its part as it lands.)
#include <joblib/joblib.hpp>

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  std::printf("joblib-cpp %s demo%s\n", joblib::version_string, quick ? " (quick)" : "");
  try {
    throw joblib::format_error("example.jl", 42, "not a joblib container");
  } catch (const joblib::error& e) {
    std::printf("errors are typed and name file and offset: %s\n", e.what());
  }
  return 0;
}
