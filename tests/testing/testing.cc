#include "tests/testing/testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace drover::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "drover-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  // Canonical so tests compare against resolved paths (e.g. /tmp behind a symlink).
  path_ = std::filesystem::canonical(made);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteTestFile(const std::filesystem::path& root, const std::string& rel,
                   const std::string& contents) {
  std::filesystem::path path = root / rel;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << contents;
  if (!out) ADD_FAILURE() << "writing " << path;
}

std::string ReadTestFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string Sh(const std::string& command) {
  std::string full = "(" + command + ") 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for: " << command;
    return "";
  }
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "command failed: " << command << "\n" << out;
  }
  return out;
}

void InitGitRepo(const std::filesystem::path& dir) {
  Sh("cd '" + dir.string() +
     "' && git init -q -b main . && git add -A && "
     "git -c user.name=Test -c user.email=test@example.com commit -q -m initial");
}

}  // namespace drover::testing
