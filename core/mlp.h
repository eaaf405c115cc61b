// Two-layer perceptron y = W2 relu(W1 x + b1) + b2, the building block of the CKF mapper
// (MetaNet, UserProj, ItemProj). With hidden == 0 it is one linear layer y = W x + b.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "core/param.h"

namespace ckf {

struct Mlp {
  int in = 0, hidden = 0, out = 0;
  Param w1;  // (hidden, in), or (out, in) when hidden == 0
  Param b1;  // (hidden) or (out)
  Param w2;  // (out, hidden); empty when hidden == 0
  Param b2;  // (out); empty when hidden == 0
};

// Saved activations of one forward call over N rows.
struct MlpActs {
  Tensor inp;     // (N, in) copy of the input (the caller may reuse its buffer)
  Tensor pre;     // (N, hidden) W1 x + b1, before the relu
  Tensor act;     // (N, hidden) relu(pre)
};

// PyTorch nn.Linear initialisation (uniform in +-1/sqrt(fan_in) for weight and bias); the last
// layer's weight and bias are then multiplied by out_scale (small values start a residual map near zero).
Mlp mlp_create(const std::string& name, int in, int hidden, int out, std::mt19937_64& rng, float out_scale = 1.0f);

// out (N, out) = mlp(inp (N, in)); fills acts for backward.
void mlp_forward(const Mlp& m, float* out, const float* inp, int N, MlpActs& acts);

// Accumulates parameter gradients from dout (N, out); writes dinp (N, in) when non-null.
void mlp_backward(Mlp& m, float* dinp, const float* dout, int N, const MlpActs& acts);

void mlp_params(Mlp& m, ParamRefs& out);

}  // namespace ckf
