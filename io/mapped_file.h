// A read-only memory map of a whole file: weight readers view tensor bytes in place instead of
// copying multi-gigabyte files into heap memory; pages are read lazily by the kernel.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ckf {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws ckf::Error naming the path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }  // (size) bytes; null when size == 0
  size_t size() const { return size_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ckf
