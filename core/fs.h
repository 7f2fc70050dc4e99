// Small filesystem helpers that return Result instead of throwing.
// Thread-safe: no shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace drover {

// Whole file as bytes. kNotFound when missing, kIo otherwise; messages name the path.
Result<std::string> ReadFile(const std::filesystem::path& path);
// For files an untrusted process could have replaced: the last component must be a regular
// file, not a symlink (kPermissionDenied), a FIFO or a device, and at most `max_bytes` long.
Result<std::string> ReadRegularFile(const std::filesystem::path& path, size_t max_bytes);
// Writes through a temporary file in the same directory and renames it into place.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view contents);
// Appends (creating the file); used for JSONL.
Status AppendFile(const std::filesystem::path& path, std::string_view contents);
Status CreateDirectories(const std::filesystem::path& path);
// Removes a tree; missing is fine.
Status RemoveAll(const std::filesystem::path& path);

}  // namespace drover
