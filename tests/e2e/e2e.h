// Support for end-to-end tests: a migration fixture on disk (spec, target repositories,
// cassettes) and a way to run the built drover binary against it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "tests/testing/testing.h"

namespace drover::e2e {

struct DroverRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  Json summary;        // run_dir/summary.json, null when absent
  std::filesystem::path run_dir;
};

class Fixture {
 public:
  Fixture();
  const std::filesystem::path& root() const { return dir_.path(); }
  // A git repository named `name` with these files (path -> contents), committed on main.
  std::filesystem::path AddRepo(const std::string& name,
                                const std::map<std::string, std::string>& files);
  void AddTargetLine(const std::string& line);
  void WriteSpec(const std::string& text);
  // The cassette for repository `name`: a JSON array of exchanges.
  void WriteCassette(const std::string& name, const Json& exchanges);
  // Runs `drover run` with DROVER_MODEL=replay:<cassettes> unless `env` sets it.
  DroverRun Run(const std::map<std::string, std::string>& env = {},
                const std::vector<std::string>& extra_args = {});
  std::filesystem::path spec_path() const { return dir_.path() / "migration.md"; }

 private:
  drover::testing::TempDir dir_;
  std::vector<std::string> target_lines_;
  int runs_ = 0;
};

// The standard spec of these tests: verifier `make -s test`, one attempt unless given.
std::string StandardSpec(int max_attempts = 1);

// A reply calling one tool with JSON arguments.
Json Call(const std::string& tool, const Json& arguments, const std::string& text = "",
          const std::vector<std::string>& expect = {});

// Reads a JSONL file into its events.
std::vector<Json> ReadJsonl(const std::filesystem::path& path);

}  // namespace drover::e2e
