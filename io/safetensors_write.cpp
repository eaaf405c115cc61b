#include "io/safetensors_write.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_write.h"

namespace ckf {

namespace {

void entry_validate(const std::filesystem::path& path, const SafetensorsEntry& e, std::set<std::string>& seen) {
  CKF_CHECK(!e.name.empty(), path << ": a tensor has an empty name");
  CKF_CHECK(e.name != "__metadata__", path << ": '__metadata__' is reserved and cannot name a tensor");
  CKF_CHECK(seen.insert(e.name).second, path << ": tensor '" << e.name << "' given twice");
  CKF_CHECK(e.tensor.dtype() == DType::f32, path << ": tensor '" << e.name << "': dtype " << dtype_name(e.tensor.dtype())
                                                 << ", only f32 is written");
  CKF_CHECK(e.tensor.device() == Device::cpu, path << ": tensor '" << e.name << "' is not on the CPU");
  const float* v = e.tensor.data<float>();
  for (int64_t i = 0; i < e.tensor.numel(); ++i)
    CKF_CHECK(std::isfinite(v[i]), path << ": tensor '" << e.name << "' " << shape_str(e.tensor.shape())
                                        << ": element " << i << " is " << v[i]);
}

std::string header_json(const std::vector<SafetensorsEntry>& tensors, const std::map<std::string, std::string>& metadata) {
  Json::Object header;
  uint64_t offset = 0;
  for (const SafetensorsEntry& e : tensors) {
    Json::Array shape;
    for (int64_t d : e.tensor.shape()) shape.push_back(Json::integer(d));
    const uint64_t end = offset + e.tensor.nbytes();
    Json::Object entry{{"dtype", Json(std::string("F32"))},
                       {"shape", Json(std::move(shape))},
                       {"data_offsets", Json(Json::Array{Json::integer(int64_t(offset)), Json::integer(int64_t(end))})}};
    header.emplace_back(e.name, Json(std::move(entry)));
    offset = end;
  }
  if (!metadata.empty()) {
    Json::Object meta;
    for (const auto& [k, v] : metadata) meta.emplace_back(k, Json(v));
    header.emplace_back("__metadata__", Json(std::move(meta)));
  }
  std::string text = json_write(Json(std::move(header)), 0);
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  return text;
}

}  // namespace

void safetensors_write(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  for (const SafetensorsEntry& e : tensors) entry_validate(path, e, seen);
  const std::string header = header_json(tensors, metadata);
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    CKF_CHECK(out, "open " << tmp << " for writing");
    const uint64_t n = header.size();  // little-endian on every platform ckf targets
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(header.data(), std::streamsize(header.size()));
    for (const SafetensorsEntry& e : tensors) out.write(static_cast<const char*>(e.tensor.raw()), std::streamsize(e.tensor.nbytes()));
    out.flush();
    CKF_CHECK(out, "write " << tmp << ": I/O error");
  });
}

}  // namespace ckf
