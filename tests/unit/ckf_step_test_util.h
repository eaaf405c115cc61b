// Random inputs shared by the CPU and device CKF-step tests (tests/unit/ckf_step_test.cpp,
// cuda_ckf_step_test.cpp): CF tables and a mapper moved away from its initial structure.
#pragma once
#include <cstdint>
#include <random>

#include "core/ckf_step.h"
#include "core/mapper.h"

namespace ckf::test {

// (U, d_cf) user and (I, d_cf) item embeddings drawn from N(0, 1), users first.
inline CfTables random_cf(int U, int I, int d_cf, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  CfTables cf{Tensor::zeros({U, d_cf}), Tensor::zeros({I, d_cf})};
  for (Tensor* t : {&cf.user_emb, &cf.item_emb})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = g(rng);
  return cf;
}

// A small mapper (MetaNet hidden 4, projections hidden 6) with N(0, 0.3) noise added to every
// parameter, so that every one of them gets a gradient.
inline Mapper random_mapper(int d_cf, int d_model, MappingKind kind = MappingKind::metanet) {
  MapperConfig mc;
  mc.d_cf = d_cf, mc.d_model = d_model, mc.meta_hidden = 4, mc.proj_hidden = 6, mc.kind = kind;
  Mapper m = mapper_create(mc);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> g(0.0f, 0.3f);
  for (Param* p : mapper_params(m))
    for (int64_t i = 0; i < p->value.numel(); ++i) p->value.data<float>()[i] += g(rng);
  return m;
}

}  // namespace ckf::test
