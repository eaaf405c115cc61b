// Small helpers shared by the unit tests.
#pragma once
#include <string>

#include "core/check.h"

namespace ckf {

// The message of the ckf::Error that f() throws, or "" when it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace ckf
