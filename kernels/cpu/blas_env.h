// OpenBLAS picks its kernels by CPU model at load time. On virtual machines it may not recognise
// the CPU and fall back to SSE3 ("Prescott") kernels that run 3-8x slower than the AVX-512 ones the
// CPU supports. These helpers detect that so the launcher can restart itself with
// OPENBLAS_CORETYPE set (the variable is read only when the library loads).
#pragma once
#include <string>

namespace ckf::cpu {

// The kernel family OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Prescott".
std::string blas_core_name();

// A better OPENBLAS_CORETYPE for this CPU when OpenBLAS fell back to a generic family, else "".
std::string blas_better_coretype();

}  // namespace ckf::cpu
