#include "kernels/cuda/gemm.h"
#include "kernels/cuda/linear.h"

namespace ckf::cuda {

void linear_forward(cublasHandle_t handle, __nv_bfloat16* out, const __nv_bfloat16* inp,
                    const __nv_bfloat16* weight, int N, int C, int OC) {
  gemm(handle, out, GemmType::bf16, inp, weight, GemmType::bf16, N, OC, C, false, true);
}

void linear_backward_input(cublasHandle_t handle, __nv_bfloat16* dinp, const __nv_bfloat16* dout,
                           const __nv_bfloat16* weight, int N, int C, int OC) {
  gemm(handle, dinp, GemmType::bf16, dout, weight, GemmType::bf16, N, C, OC, false, false, 1.0f, 1.0f);
}

}  // namespace ckf::cuda
