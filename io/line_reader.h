// Line-by-line reading of plain or gzip-compressed text (zlib's gz* reads both), counting lines so
// that every parse error can name "file:line". A gzip stream that ends early is an error, not EOF.
#pragma once
#include <zlib.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ckf {

class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Next line without its "\n" (and a trailing "\r"); false at the end of the file. The view stays
  // valid until the next call.
  bool next(std::string_view& line);
  size_t line_number() const { return line_no_; }  // 1-based number of the line last returned
  const std::filesystem::path& path() const { return path_; }
  std::string where() const;  // "path:line" for error messages

 private:
  bool fill();  // reads more input into buf_; false at the end of the stream

  std::filesystem::path path_;
  gzFile gz_ = nullptr;
  std::string buf_;      // (capacity grows to the longest line) raw bytes not yet returned
  size_t start_ = 0;     // offset of the next unread byte in buf_
  size_t line_no_ = 0;
  bool eof_ = false;
};

}  // namespace ckf
