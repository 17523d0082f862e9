// Must NOT compile: not_serializable_widget has a private member, no JOBLIB_FIELDS and no
// serialize(), so joblib::hash rejects it. check_compile_fail.cmake checks the diagnostics name
// the type and carry joblib's message.
#include <joblib/hash.hpp>

class not_serializable_widget {
 public:
  explicit not_serializable_widget(int v) : value_(v) {}

 private:
  int value_;
};

int main() {
  const not_serializable_widget w(1);
  return static_cast<int>(joblib::hash(w).low);
}
