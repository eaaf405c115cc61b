#include "io/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/check.h"

namespace ckf {

namespace fs = std::filesystem;

fs::path atomic_temp_path(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

// fsync a file or directory so that a crash after rename cannot expose an empty file.
void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  CKF_CHECK(fd >= 0, "open " << p << " for fsync: " << std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  CKF_CHECK(rc == 0, "fsync " << p << ": " << std::strerror(err));
}

void atomic_write(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  fs::path tmp = atomic_temp_path(path);
  try {
    write(tmp);
    if (fs::is_regular_file(tmp)) fsync_path(tmp);
    if (fs::is_directory(tmp) && fs::is_directory(path)) {
      CKF_CHECK(::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0,
                "swap " << tmp << " <-> " << path << ": " << std::strerror(errno)
                        << (errno == EINVAL ? " (no RENAME_EXCHANGE on this file system? remove the old one first)" : ""));
      fs::remove_all(tmp);  // now the old tree
    } else {
      std::error_code ec;
      fs::rename(tmp, path, ec);
      CKF_CHECK(!ec, "rename " << tmp << " -> " << path << ": " << ec.message());
    }
    fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

}  // namespace ckf
