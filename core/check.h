// Error checking used everywhere: every failed check throws ckf::Error with a message that names
// what failed and where, so the launcher can print it with the rank and exit non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ckf {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << msg << " [" << file << ":" << line << "]";
  throw Error(os.str());
}

}  // namespace ckf

// CKF_CHECK(cond, stream-expression): `CKF_CHECK(n > 0, "count " << n << " in " << path);`
#define CKF_CHECK(cond, msg)                                      \
  do {                                                            \
    if (!(cond)) {                                                \
      std::ostringstream ckf_check_os_;                           \
      ckf_check_os_ << msg;                                       \
      ::ckf::fail(__FILE__, __LINE__, ckf_check_os_.str());       \
    }                                                             \
  } while (0)

#define CKF_FAIL(msg) CKF_CHECK(false, msg)
