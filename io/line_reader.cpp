#include "io/line_reader.h"

#include <cerrno>
#include <cstring>

#include "core/check.h"

namespace ckf {

LineReader::LineReader(const std::filesystem::path& path) : path_(path) {
  CKF_CHECK(std::filesystem::is_regular_file(path), "cannot open " << path << ": no such file");
  gz_ = gzopen(path.c_str(), "rb");
  CKF_CHECK(gz_, "cannot open " << path << ": " << std::strerror(errno));
  gzbuffer(gz_, 1 << 18);
}

LineReader::~LineReader() {
  if (gz_) gzclose(gz_);
}

std::string LineReader::where() const { return path_.string() + ":" + std::to_string(line_no_); }

bool LineReader::fill() {
  if (eof_) return false;
  buf_.erase(0, start_);
  start_ = 0;
  constexpr size_t chunk = 1 << 18;
  size_t old = buf_.size();
  buf_.resize(old + chunk);
  int n = gzread(gz_, buf_.data() + old, chunk);
  int err = Z_OK;
  std::string msg = gzerror(gz_, &err);
  std::string prefix = path_.string() + ": ";  // zlib puts the path in front of its message
  if (msg.compare(0, prefix.size(), prefix) == 0) msg.erase(0, prefix.size());
  // zlib reports a stream cut short as Z_BUF_ERROR ("unexpected end of file") with n >= 0.
  CKF_CHECK(n >= 0 && (err == Z_OK || err == Z_STREAM_END),
            path_.string() << ": read error after line " << line_no_ << ": " << msg
                           << (err == Z_BUF_ERROR ? " (truncated gzip file?)" : ""));
  buf_.resize(old + size_t(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineReader::next(std::string_view& line) {
  size_t scanned = start_;
  for (;;) {
    size_t nl = buf_.find('\n', scanned);
    if (nl != std::string::npos) {
      line = std::string_view(buf_).substr(start_, nl - start_);
      start_ = nl + 1;
      break;
    }
    size_t consumed = start_;
    scanned = buf_.size() - consumed;  // bytes already searched, relative to the compacted buffer
    if (!fill()) {
      if (start_ >= buf_.size()) return false;
      line = std::string_view(buf_).substr(start_);  // last line without a newline
      start_ = buf_.size();
      break;
    }
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ++line_no_;
  return true;
}

}  // namespace ckf
