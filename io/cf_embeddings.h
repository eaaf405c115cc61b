// CF embeddings on disk: one HDF5 file with datasets user_emb (n_users, dim) f32 and item_emb
// (n_items, dim) f32, and root attributes ckf_schema = "cf_embeddings", schema_version, model,
// dim, n_users, n_items and dataset (the identity of the data they were trained on).
#pragma once
#include <filesystem>
#include <string>

#include "core/cf_model.h"

namespace ckf {

inline constexpr int64_t kCfEmbeddingsSchemaVersion = 1;

struct CfEmbeddingsFile {
  CfEmbeddings emb;
  std::string dataset;  // identity string of the training data
  int64_t schema_version = kCfEmbeddingsSchemaVersion;
};

// Written to a temporary name and renamed (io/atomic_file.h): the file appears whole or not at all.
void cf_embeddings_write(const std::filesystem::path& path, const CfEmbeddings& emb, const std::string& dataset);

// Validates the schema name, the version (a newer one is refused), the attribute/dataset shapes
// and that every value is finite; every error names the file and the field.
CfEmbeddingsFile cf_embeddings_read(const std::filesystem::path& path);

}  // namespace ckf
