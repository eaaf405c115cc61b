// Measured GEMM rates for `ckf plan --calibrate`: what this machine achieves, so the planner's
// compute term rests on a measurement instead of a datasheet.
#pragma once
#include <string>

namespace ckf {

// Both time c (M, N) = a (M, K) @ b (K, N); the caller passes the model's own GEMM shape, since
// small models run far below a GPU's large-GEMM rate.

// fp32 sgemm through kernels/cpu/matmul.h with the current BLAS threads; GFLOP/s.
double calibrate_cpu_gflops(int M, int N, int K);

// bf16 cuBLAS GEMM (fp32 accumulation) through kernels/cuda/gemm.h on GPU 0; TFLOP/s. Returns 0 and
// sets why_not when the build has no CUDA or no GPU is visible.
double calibrate_gpu_tflops(int M, int N, int K, std::string& why_not);

}  // namespace ckf
