#include "kernels/cuda/check.h"
#include "kernels/cuda/rope.h"

namespace ckf::cuda {

namespace {

// One thread per (token, frequency) pair, looping over heads so cos/sin are computed once. The
// angle is formed in double as in the CPU twin: pos * inv_freq reaches thousands of radians, where
// fp32 would lose ~1e-3 rad.
__global__ void rope_rotate_kernel(__nv_bfloat16* x, const int32_t* pos, int N, int H, int D, float theta,
                                   double sign) {
  const int half = D / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(N) * half) return;
  const int n = static_cast<int>(idx / half), i = static_cast<int>(idx % half);
  const double angle = sign * pos[n] * pow(static_cast<double>(theta), -2.0 * i / D);
  const float c = static_cast<float>(cos(angle)), s = static_cast<float>(sin(angle));
  for (int h = 0; h < H; h++) {
    __nv_bfloat16* v = x + (static_cast<int64_t>(n) * H + h) * D;
    const float a = __bfloat162float(v[i]), b = __bfloat162float(v[i + half]);
    v[i] = __float2bfloat16(a * c - b * s);
    v[i + half] = __float2bfloat16(b * c + a * s);
  }
}

void rope_rotate(__nv_bfloat16* x, const int32_t* pos, int N, int H, int D, float theta, double sign,
                 cudaStream_t stream) {
  CKF_CHECK(D % 2 == 0, "rope: head size " << D << " must be even");
  const int64_t pairs = static_cast<int64_t>(N) * (D / 2);
  if (pairs == 0) return;
  constexpr int threads = 256;
  rope_rotate_kernel<<<static_cast<unsigned>((pairs + threads - 1) / threads), threads, 0, stream>>>(x, pos, N, H, D,
                                                                                                    theta, sign);
  CUDA_CHECK_LAUNCH("rope_rotate_kernel");
}

}  // namespace

void rope_forward(__nv_bfloat16* x, const int32_t* pos, int N, int H, int D, float theta, cudaStream_t stream) {
  rope_rotate(x, pos, N, H, D, theta, 1.0, stream);
}

// The rotation is orthogonal: its Jacobian transpose is the rotation by the opposite angle.
void rope_backward(__nv_bfloat16* dx, const int32_t* pos, int N, int H, int D, float theta, cudaStream_t stream) {
  rope_rotate(dx, pos, N, H, D, theta, -1.0, stream);
}

}  // namespace ckf::cuda
