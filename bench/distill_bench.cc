// Distillation over the committed fixture logs: bytes in, bytes handed to the model, and
// how many expected diagnostics were found. Usage: distill_bench [LOGS_DIR]
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "verifiers/distill.h"

namespace fs = std::filesystem;
using drover::Json;
using drover::verifiers::Diagnostic;
using drover::verifiers::DiagnosticKindName;

static std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int main(int argc, char** argv) {
  fs::path root = argc > 1 ? fs::path(argv[1]) : fs::path(DROVER_LOG_FIXTURES);
  std::vector<fs::path> cases;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename() == "output.txt") cases.push_back(entry.path().parent_path());
  }
  std::sort(cases.begin(), cases.end());
  std::printf("%-40s %9s %9s %7s %9s %6s %s\n", "fixture", "raw", "rendered", "ratio", "found",
              "extra", "parser");
  size_t raw_total = 0, rendered_total = 0, failing_raw = 0, failing_rendered = 0;
  size_t found_total = 0, expected_total = 0, extra_total = 0;
  for (const auto& dir : cases) {
    std::string raw = Slurp(dir / "output.txt");
    Json expected = Json::parse(Slurp(dir / "expected.json")).at("diagnostics");
    auto distilled = drover::verifiers::DistillOutput(raw);
    std::string rendered = drover::verifiers::Render(distilled);
    size_t found = 0;
    for (const auto& want : expected) {
      bool hit = std::any_of(distilled.diagnostics.begin(), distilled.diagnostics.end(),
                             [&](const Diagnostic& d) {
                               return d.file == want.at("file").get<std::string>() &&
                                      d.line == want.at("line").get<int>() &&
                                      DiagnosticKindName(d.kind) ==
                                          want.at("kind").get<std::string>();
                             });
      found += hit ? 1 : 0;
    }
    size_t extra = distilled.diagnostics.size() > found ? distilled.diagnostics.size() - found : 0;
    double ratio = rendered.empty() ? 0.0 : static_cast<double>(raw.size()) / rendered.size();
    std::string name = fs::relative(dir, root).string();
    std::printf("%-40s %9zu %9zu %6.1fx %4zu/%-4zu %6zu %s\n", name.c_str(), raw.size(),
                rendered.size(), ratio, found, expected.size(), extra, distilled.parser.c_str());
    raw_total += raw.size();
    rendered_total += rendered.size();
    if (!expected.empty()) {
      failing_raw += raw.size();
      failing_rendered += rendered.size();
    }
    found_total += found;
    expected_total += expected.size();
    extra_total += extra;
  }
  std::printf("%-40s %9zu %9zu %6.1fx %4zu/%-4zu %6zu\n", "TOTAL", raw_total, rendered_total,
              rendered_total ? static_cast<double>(raw_total) / rendered_total : 0.0, found_total,
              expected_total, extra_total);
  std::printf("%-40s %9zu %9zu %6.1fx\n", "failing logs only", failing_raw, failing_rendered,
              failing_rendered ? static_cast<double>(failing_raw) / failing_rendered : 0.0);
  return found_total == expected_total && extra_total == 0 ? 0 : 1;
}
