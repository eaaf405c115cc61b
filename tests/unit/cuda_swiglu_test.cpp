// CUDA SwiGLU against kernels/cpu/swiglu.h on the same bf16-rounded inputs. Tolerance: one bf16
// rounding of the output (2^-8 rel) + 1e-6 abs; sizes not multiples of the block size.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>

#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/swiglu.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaSwiglu = CudaTest;

TEST_F(CudaSwiglu, ForwardAndBackwardMatchCpu) {
  std::mt19937 rng(110);
  for (int64_t n : {1, 255, 1536 * 7 + 3}) {
    auto gate = bf16_round(random_floats(n, rng, -6, 6)), up = bf16_round(random_floats(n, rng, -2, 2));
    auto dout = bf16_round(random_floats(n, rng));
    std::vector<float> out(n), dgate(n), dup(n);
    cpu::swiglu_forward(out.data(), gate.data(), up.data(), n);
    cpu::swiglu_backward(dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), n);
    Bf16Buffer d_gate = upload_bf16(gate), d_up = upload_bf16(up), d_dout = upload_bf16(dout), d_out(n), d_dgate(n),
               d_dup(n);
    cuda::swiglu_forward(d_out.data(), d_gate.data(), d_up.data(), n, stream());
    cuda::swiglu_backward(d_dgate.data(), d_dup.data(), d_dout.data(), d_gate.data(), d_up.data(), n, stream());
    sync();
    const std::string name = " n=" + std::to_string(n);
    expect_close(download_bf16(d_out), to_double(out), 1e-6, 1.0 / 256, "swiglu out" + name);
    expect_close(download_bf16(d_dgate), to_double(dgate), 1e-6, 1.0 / 256, "swiglu dgate" + name);
    expect_close(download_bf16(d_dup), to_double(dup), 1e-6, 1.0 / 256, "swiglu dup" + name);
  }
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaSwiglu)

#endif
