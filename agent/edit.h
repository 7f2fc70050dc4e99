// Search/replace edits as the model writes them: an exact unique match first, then tolerant
// line matchers, and errors that help the model retry (match count and lines, closest lines).
// Thread-safe: pure functions, except ApplyEdits which writes through the given Workspace.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/workspace.h"
#include "core/error.h"

namespace drover::agent {

struct FileEdit {
  std::string path;  // Relative to the workspace root.
  std::string search;
  std::string replace;
};

// Returns `content` with the one occurrence of `search` replaced by `replace`. Tried in order,
// the first matcher that finds anything decides:
//   1. exact bytes;
//   2. whole lines equal ignoring trailing whitespace;
//   3. whole lines equal ignoring leading and trailing whitespace; the replacement is
//      re-indented by the difference between the file's and the search's indentation.
// In a CRLF file, LF line ends in `search` and `replace` are taken as CRLF. An empty `search`
// is only accepted for an empty file. Errors (kInvalidArgument): several matches (how many and
// the line numbers), no match (with the most similar lines of the file, numbered).
Result<std::string> ApplyEdit(std::string_view content, std::string_view search,
                              std::string_view replace);

// Applies every edit (several may target one file, applied in order) or none: all new
// contents are computed before anything is written, and files already written are restored
// if a later write fails. Errors name the edit ("edit 2 (cart.py): ...").
Status ApplyEdits(Workspace& workspace, const std::vector<FileEdit>& edits);

}  // namespace drover::agent
