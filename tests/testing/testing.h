// Shared test support: ASSERT_OK/EXPECT_OK for Result and Status, a temporary directory that
// removes itself, and helpers to build small real git repositories with the git CLI.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

#define ASSERT_OK(expr)                                                       \
  do {                                                                        \
    const auto& drover_result_ = (expr);                                      \
    ASSERT_TRUE(drover_result_.has_value()) << drover_result_.error().ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                                       \
  do {                                                                        \
    const auto& drover_result_ = (expr);                                      \
    EXPECT_TRUE(drover_result_.has_value()) << drover_result_.error().ToString(); \
  } while (0)

namespace drover::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// Writes `contents` to root/rel, creating parent directories. Fails the test on error.
void WriteTestFile(const std::filesystem::path& root, const std::string& rel,
                   const std::string& contents);
std::string ReadTestFile(const std::filesystem::path& path);

// Runs a shell command (for fixture set-up only); returns its combined output, and fails the
// test when it exits non-zero.
std::string Sh(const std::string& command);

// Turns `dir` into a git repository on branch main with one commit of all its files.
void InitGitRepo(const std::filesystem::path& dir);

// `markdown` rendered to HTML the way a forge would, by cmark-gfm with GitHub's extensions
// (autolinks, tables, strikethrough, task lists) and raw HTML passed through; nullopt when
// cmark-gfm is not installed.
std::optional<std::string> RenderGfm(const std::string& markdown);
// `html` with each <code> element (inline code and code blocks) replaced by a space: the text
// a forge scans for mentions and references, which it never looks for inside code.
std::string HtmlOutsideCode(const std::string& html);
// The first thing in rendered `html` that GitHub or GitLab would act on, or "" when there is
// none: a mention, an issue reference, a closing keyword before what it closes (outside code
// and links), an image, raw HTML, a link whose text is not its address.
std::string LiveForgeMarkup(const std::string& html);

}  // namespace drover::testing
