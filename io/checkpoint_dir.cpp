#include "io/checkpoint_dir.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "io/atomic_file.h"

namespace ckf {

namespace fs = std::filesystem;

std::string checkpoint_dir_name(int64_t step) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "step-%07lld", static_cast<long long>(step));
  return buf;
}

std::string checkpoint_tmp_name(int64_t step) {
  char buf[48];
  std::snprintf(buf, sizeof buf, ".step-%07lld.tmp", static_cast<long long>(step));
  return buf;
}

uint32_t file_crc32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  CKF_CHECK(in, "cannot read " << path);
  std::vector<char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(in.gcount()));
  }
  CKF_CHECK(in.eof(), "read error in " << path);
  return static_cast<uint32_t>(crc);
}

void complete_write(const fs::path& step_dir, const std::vector<std::string>& files) {
  std::ostringstream os;
  os << "ckf-checkpoint-complete 1\n";
  for (const std::string& f : files) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", file_crc32(step_dir / f));
    os << f << " " << fs::file_size(step_dir / f) << " " << crc << "\n";
  }
  atomic_write(step_dir / kCompleteMarker, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << os.str();
    out.close();
    CKF_CHECK(out, "writing " << tmp << " failed (disk full?)");
  });
}

std::vector<std::string> complete_verify(const fs::path& step_dir) {
  const fs::path marker = step_dir / kCompleteMarker;
  CKF_CHECK(fs::is_regular_file(marker), "no " << kCompleteMarker << " marker (incomplete write)");
  std::ifstream in(marker);
  std::string header;
  std::getline(in, header);
  CKF_CHECK(header == "ckf-checkpoint-complete 1", marker.filename().string() << ": unknown header '" << header << "'");
  std::vector<std::string> names;
  std::string name, crc_hex;
  uintmax_t size = 0;
  while (in >> name >> size >> crc_hex) {
    const fs::path f = step_dir / name;
    CKF_CHECK(fs::is_regular_file(f), name << ": listed in " << kCompleteMarker << " but missing");
    CKF_CHECK(fs::file_size(f) == size, name << ": size " << fs::file_size(f) << " bytes, expected " << size);
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", file_crc32(f));
    CKF_CHECK(crc_hex == crc, name << ": CRC32 " << crc << ", expected " << crc_hex << " (corrupt)");
    names.push_back(name);
  }
  CKF_CHECK(in.eof(), kCompleteMarker << ": malformed line after '" << name << "'");
  return names;
}

// "step-0000042" -> 42, ".step-0000042.tmp" -> 42 (tmp), anything else -> false.
static bool parse_entry(const std::string& n, int64_t* step, bool* tmp) {
  std::string digits;
  if (n.starts_with("step-")) {
    digits = n.substr(5);
    *tmp = false;
  } else if (n.starts_with(".step-") && n.ends_with(".tmp")) {
    digits = n.substr(6, n.size() - 10);
    *tmp = true;
  } else {
    return false;
  }
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  *step = std::stoll(digits);
  return true;
}

std::vector<CheckpointDirEntry> checkpoint_dir_scan(const fs::path& dir) {
  std::vector<CheckpointDirEntry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    int64_t step = 0;
    bool tmp = false;
    std::error_code entry_ec;  // an entry vanishing while we look is not an error of the listing
    if (!e.is_directory(entry_ec) || !parse_entry(e.path().filename().string(), &step, &tmp)) continue;
    out.push_back({step, e.path(), tmp, !tmp && fs::is_regular_file(e.path() / kCompleteMarker, entry_ec)});
  }
  CKF_CHECK(!ec, "cannot list checkpoint directory " << dir << ": " << ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::vector<fs::path> checkpoint_prune(const fs::path& dir, int keep_last) {
  const std::vector<CheckpointDirEntry> entries = checkpoint_dir_scan(dir);
  std::vector<int64_t> complete_steps;
  for (const auto& e : entries)
    if (e.complete) complete_steps.push_back(e.step);
  if (complete_steps.empty()) return {};
  const int64_t newest = complete_steps.back();
  const int64_t n_complete = static_cast<int64_t>(complete_steps.size());
  const int64_t oldest_kept = keep_last <= 0 || n_complete <= keep_last ? complete_steps.front()
                                                                         : complete_steps[n_complete - keep_last];
  std::vector<fs::path> removed;
  std::string errors;
  for (const auto& e : entries) {
    const bool drop = e.complete ? e.step < oldest_kept : e.step < newest;
    if (!drop) continue;
    std::error_code ec;
    fs::remove_all(e.path, ec);
    if (ec) errors.append(" ").append(e.path.string()).append(": ").append(ec.message()).append(";");
    else removed.push_back(e.path);
  }
  CKF_CHECK(errors.empty(), "checkpoint retention: could not remove" << errors);
  if (!removed.empty()) fsync_path(dir);
  return removed;
}

}  // namespace ckf
