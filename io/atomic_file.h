// Outputs appear whole or not at all: write under a temporary name in the same directory, then
// rename over the final name (rename is atomic within one file system). A failure removes the
// temporary and leaves any existing file at the final name untouched.
#pragma once
#include <filesystem>
#include <functional>

namespace ckf {

// Calls write(tmp_path), fsyncs the result, renames tmp_path to `path`. On any exception the
// temporary is removed and the exception propagates. write may also create a directory (a dataset,
// a checkpoint): an existing directory at `path` is then swapped out atomically (Linux
// renameat2 RENAME_EXCHANGE) and removed, so readers see the old tree or the new one, never a mix.
// Files inside such a directory are not fsynced here: write them with atomic_write too.
void atomic_write(const std::filesystem::path& path, const std::function<void(const std::filesystem::path&)>& write);

// fsync a file or directory (a directory after creating, renaming or removing entries in it).
void fsync_path(const std::filesystem::path& p);

// The temporary name used for `path`: "<dir>/.<name>.tmp-<pid>".
std::filesystem::path atomic_temp_path(const std::filesystem::path& path);

}  // namespace ckf
