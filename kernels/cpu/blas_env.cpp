#include "kernels/cpu/blas_env.h"

#include <cblas.h>

namespace ckf::cpu {

std::string blas_core_name() { return openblas_get_corename(); }

std::string blas_better_coretype() {
  const std::string core = blas_core_name();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "Sandybridge";
  if (!generic) return "";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

}  // namespace ckf::cpu
