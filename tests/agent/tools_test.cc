#include "agent/tools.h"

#include <filesystem>
#include <set>

#include "agent/tree_sitter_langs.h"
#include "prompts/prompts.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "repo";
    WriteTestFile(root_, "pricing.py", "def compute_total(items):\n    return sum(items)\n");
    WriteTestFile(root_, "cart.py",
                  "from pricing import compute_total\n\n\ndef cart_value(items):\n"
                  "    return compute_total(items)\n");
    task_.workspace = root_;
    // The check passes once no file mentions compute_total.
    task_.verifiers = {
        {"test", "! grep -rn compute_total --include=*.py .", std::chrono::seconds(30)}};
    task_.limits.command_timeout_seconds = 2;
    workspace_ = std::make_unique<Workspace>(root_);
    processes_ = sandbox::MakeLocalProcessRunner();
    tools_ = std::make_unique<Tools>(task_, *workspace_, *processes_,
                                     sandbox::BaseEnvironment(sandbox::CurrentEnvironment()));
  }

  ToolResult Call(const std::string& name, const std::string& arguments) {
    return tools_->Execute(ToolCall{"id", name, arguments});
  }

  ToolResult Call(const std::string& name, const Json& arguments) {
    return Call(name, arguments.dump());
  }

  TempDir tmp_;
  fs::path root_;
  AgentTask task_;
  std::unique_ptr<Workspace> workspace_;
  std::unique_ptr<sandbox::ProcessRunner> processes_;
  std::unique_ptr<Tools> tools_;
};

TEST_F(ToolsTest, SchemasAreObjectsWithUniqueNames) {
  std::set<std::string> names;
  for (const auto& schema : Tools::Schemas()) {
    EXPECT_TRUE(names.insert(schema.name).second) << schema.name;
    EXPECT_EQ(schema.parameters["type"], "object") << schema.name;
    EXPECT_LT(schema.description.size(), 200u) << schema.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"read_file", "list_files", "search", "edit", "write_file",
                                          "run", "find_symbol", "references", "verify",
                                          "finish"}));
}

// The schemas come from the template agent_tools.json; what the model is offered is the very
// JSON it was offered when they were written in code (cassettes and cache prefixes hold it).
TEST(ToolSchemas, TemplateGivesTheOfferedBytesInTheTableOrder) {
  auto loaded = Tools::LoadSchemas();
  ASSERT_OK(loaded);
  ASSERT_EQ(loaded->size(), std::size(kToolNames));
  for (size_t i = 0; i < loaded->size(); ++i) EXPECT_EQ((*loaded)[i].name, kToolNames[i]);
  Json offered = Json::array();
  for (const auto& schema : Tools::Schemas()) {
    offered.push_back({schema.name, schema.description, schema.parameters});
  }
  EXPECT_EQ(
      offered.dump(),
      R"([["read_file","Read a text file as numbered lines. Long files come in parts.",)"
      R"({"properties":{"end_line":{"type":"integer"},"path":{"type":"string"},"start_line":)"
      R"({"type":"integer"}},"required":["path"],"type":"object"}],["list_files","List files, )"
      R"(skipping .gitignored ones. A glob without '/' matches names at any depth.",)"
      R"({"properties":{"glob":{"type":"string"},"path":{"description":"Folder, default the )"
      R"(root","type":"string"}},"type":"object"}],["search","Search file contents with a regex )"
      R"((ECMAScript). Prints path:line: text.",{"properties":{"glob":{"type":"string"},"path":)"
      R"({"type":"string"},"pattern":{"type":"string"}},"required":["pattern"],"type":"object"}],)"
      R"(["edit","Replace text. search must match exactly once: copy it from the file without )"
      R"(line numbers. Use edits for several changes, applied all or none.",{"properties":)"
      R"({"edits":{"items":{"properties":{"path":{"type":"string"},"replace":{"type":"string"},)"
      R"("search":{"type":"string"}},"required":["path","search","replace"],"type":"object"},)"
      R"("type":"array"},"path":{"type":"string"},"replace":{"type":"string"},"search":)"
      R"({"type":"string"}},"type":"object"}],["write_file","Create or overwrite a file with )"
      R"(the whole content.",{"properties":{"content":{"type":"string"},"path":{"type":)"
      R"("string"}},"required":["path","content"],"type":"object"}],["run","Run a shell command )"
      R"(in the repository root. Long output is cut. New files it makes are kept, except )"
      R"(.gitignored ones: those are build outputs, removed before verify.",{"properties":)"
      R"({"command":{"type":"string"},"timeout_seconds":{"type":"integer"}},"required":)"
      R"(["command"],"type":"object"}],["find_symbol","Where a name is defined: path:line: )"
      R"(signature.",{"properties":{"name":{"type":"string"}},"required":["name"],"type":)"
      R"("object"}],["references","Where a name is used, in code, strings and config files: )"
      R"(path:line: text.",{"properties":{"name":{"type":"string"}},"required":["name"],"type":)"
      R"("object"}],["verify","Run the repository's checks (build, tests) and report )"
      R"(failures.",{"properties":{},"type":"object"}],["finish","End the task with a summary )"
      R"(for the pull request. Checks must pass, unless not_applicable_reason says why the )"
      R"(migration does not apply to this repository.",{"properties":{"not_applicable_reason":)"
      R"({"type":"string"},"summary":{"type":"string"}},"required":["summary"],"type":)"
      R"("object"}]])");
}

// A template that lacks a tool, or names one the code does not have, is refused by name.
TEST(ToolSchemas, OverrideMustNameEveryToolAndNoOther) {
  TempDir dir;
  WriteTestFile(dir.path(), std::string(kToolsTemplate), R"({"read_file": {}})");
  prompts::SetOverrideDir(dir.path());
  auto lacking = Tools::LoadSchemas();
  Json full = Json::object();
  for (std::string_view name : kToolNames) {
    full[std::string(name)] = {{"description", "d"}, {"parameters", Json::object()}};
  }
  full["rm_rf"] = {{"description", "d"}, {"parameters", Json::object()}};
  WriteTestFile(dir.path(), std::string(kToolsTemplate), full.dump());
  auto excess = Tools::LoadSchemas();
  prompts::SetOverrideDir({});
  ASSERT_FALSE(lacking.has_value());
  EXPECT_NE(lacking.error().message.find("'read_file'"), std::string::npos)
      << lacking.error().message;
  ASSERT_FALSE(excess.has_value());
  EXPECT_NE(excess.error().message.find("'rm_rf'"), std::string::npos) << excess.error().message;
}

TEST_F(ToolsTest, InvalidJsonArgumentsSayWhatWasExpected) {
  ToolResult result = Call("edit", std::string(R"({"path": "pricing.py", )"));
  EXPECT_TRUE(result.is_error);
  EXPECT_TRUE(result.malformed);
  EXPECT_NE(result.text.find("invalid JSON in arguments of edit"), std::string::npos)
      << result.text;
  EXPECT_NE(result.text.find(R"("search": string)"), std::string::npos) << result.text;
}

TEST_F(ToolsTest, UnknownToolListsTheTools) {
  ToolResult result = Call("delete_everything", Json::object());
  EXPECT_TRUE(result.is_error);
  EXPECT_TRUE(result.malformed);
  EXPECT_NE(result.text.find("unknown tool 'delete_everything'"), std::string::npos);
  EXPECT_NE(result.text.find("read_file"), std::string::npos);
}

TEST_F(ToolsTest, MissingAndMistypedFieldsAreNamed) {
  ToolResult missing = Call("edit", Json{{"path", "pricing.py"}, {"search", "x"}});
  EXPECT_TRUE(missing.malformed);
  EXPECT_NE(missing.text.find("missing required string field 'replace'"), std::string::npos)
      << missing.text;
  ToolResult mistyped = Call("read_file", Json{{"path", "pricing.py"}, {"start_line", "3"}});
  EXPECT_TRUE(mistyped.malformed);
  EXPECT_NE(mistyped.text.find("'start_line' must be an integer, not string"), std::string::npos)
      << mistyped.text;
  ToolResult not_object = Call("read_file", std::string("[1]"));
  EXPECT_TRUE(not_object.malformed);
  EXPECT_NE(not_object.text.find("must be a JSON object"), std::string::npos);
  ToolResult bad_list = Call("edit", Json{{"edits", Json::array({Json{{"path", "a"}}})}});
  EXPECT_NE(bad_list.text.find("edits[0]: missing required string field 'search'"),
            std::string::npos)
      << bad_list.text;
}

TEST_F(ToolsTest, ReadFileNumbersLinesAndPages) {
  std::string content;
  for (int i = 1; i <= 500; ++i) content += "line " + std::to_string(i) + "\n";
  WriteTestFile(root_, "long.txt", content);
  ToolResult whole = Call("read_file", Json{{"path", "pricing.py"}});
  EXPECT_FALSE(whole.is_error);
  EXPECT_EQ(whole.text, "1\tdef compute_total(items):\n2\t    return sum(items)\n");
  ToolResult first = Call("read_file", Json{{"path", "long.txt"}});
  EXPECT_NE(first.text.find("400\tline 400\n[lines 1-400 of 500; use start_line=401"),
            std::string::npos);
  ToolResult range =
      Call("read_file", Json{{"path", "long.txt"}, {"start_line", 10}, {"end_line", 11}});
  EXPECT_EQ(range.text,
            "10\tline 10\n11\tline 11\n[lines 10-11 of 500; use start_line=12 to read on]\n");
  ToolResult past = Call("read_file", Json{{"path", "long.txt"}, {"start_line", 900}});
  EXPECT_TRUE(past.is_error);
  EXPECT_FALSE(past.malformed);
  ToolResult missing = Call("read_file", Json{{"path", "nope.py"}});
  EXPECT_TRUE(missing.is_error);
  EXPECT_NE(missing.text.find("no such file: 'nope.py'"), std::string::npos) << missing.text;
}

TEST_F(ToolsTest, PathsOutsideAreRefusedAndNothingOutsideChanges) {
  WriteTestFile(tmp_.path(), "outside/target.txt", "original\n");
  fs::create_directory_symlink(tmp_.path() / "outside", root_ / "escape");
  for (const auto& [name, args] : std::vector<std::pair<std::string, Json>>{
           {"write_file", {{"path", "../outside.txt"}, {"content", "x"}}},
           {"write_file", {{"path", (tmp_.path() / "outside/abs.txt").string()}, {"content", "x"}}},
           {"write_file", {{"path", "escape/pwned.txt"}, {"content", "x"}}},
           {"edit", {{"path", "escape/target.txt"}, {"search", "original"}, {"replace", "pwned"}}},
           {"read_file", {{"path", "../../../../../../etc/passwd"}}},
           {"list_files", {{"path", "escape"}}},
           {"search", {{"pattern", "original"}, {"path", "escape"}}}}) {
    ToolResult result = Call(name, args);
    EXPECT_TRUE(result.is_error) << name << " " << args.dump() << ": " << result.text;
    EXPECT_FALSE(result.malformed);
    EXPECT_NE(result.text.find("outside the workspace"), std::string::npos) << result.text;
  }
  EXPECT_EQ(ReadTestFile(tmp_.path() / "outside/target.txt"), "original\n");
  EXPECT_FALSE(fs::exists(tmp_.path() / "outside.txt"));
  EXPECT_FALSE(fs::exists(tmp_.path() / "outside/abs.txt"));
  EXPECT_FALSE(fs::exists(tmp_.path() / "outside/pwned.txt"));
}

TEST_F(ToolsTest, ListAndSearch) {
  ToolResult list = Call("list_files", Json::object());
  EXPECT_EQ(list.text, "cart.py\npricing.py\n");
  ToolResult search = Call("search", Json{{"pattern", "compute_\\w+\\("}});
  EXPECT_EQ(
      search.text,
      "cart.py:5:     return compute_total(items)\npricing.py:1: def compute_total(items):\n");
  ToolResult none = Call("search", Json{{"pattern", "nothing_here"}});
  EXPECT_EQ(none.text, "no matches\n");
  ToolResult bad = Call("search", Json{{"pattern", "("}});
  EXPECT_TRUE(bad.is_error);
  EXPECT_NE(bad.text.find("invalid regex"), std::string::npos);
}

TEST_F(ToolsTest, MultiFileEditIsAtomic) {
  Json edits = {
      {"edits",
       Json::array({{{"path", "pricing.py"},
                     {"search", "def compute_total(items):"},
                     {"replace", "def compute_sum(items):"}},
                    {{"path", "cart.py"}, {"search", "no such text"}, {"replace", "x"}}})}};
  ToolResult failed = Call("edit", edits);
  EXPECT_TRUE(failed.is_error);
  EXPECT_FALSE(failed.malformed);
  EXPECT_NE(failed.text.find("no file was changed"), std::string::npos) << failed.text;
  EXPECT_NE(failed.text.find("edit 2 of 2 (cart.py)"), std::string::npos) << failed.text;
  EXPECT_EQ(ReadTestFile(root_ / "pricing.py"),
            "def compute_total(items):\n    return sum(items)\n");

  edits["edits"][1] = {{"path", "cart.py"},
                       {"search", "from pricing import compute_total"},
                       {"replace", "from pricing import compute_sum"}};
  edits["edits"].push_back({{"path", "cart.py"},
                            {"search", "return compute_total(items)"},
                            {"replace", "return compute_sum(items)"}});
  ToolResult ok = Call("edit", edits);
  EXPECT_FALSE(ok.is_error) << ok.text;
  EXPECT_EQ(ok.text, "Edited pricing.py, cart.py.");
  EXPECT_EQ(ReadTestFile(root_ / "cart.py"),
            "from pricing import compute_sum\n\n\ndef cart_value(items):\n"
            "    return compute_sum(items)\n");
}

TEST_F(ToolsTest, RunShowsExitStatusAndCapsTimeout) {
  ToolResult ok = Call("run", Json{{"command", "echo hello; exit 3"}});
  EXPECT_FALSE(ok.is_error);
  EXPECT_EQ(ok.text.rfind("exit 3\nhello\n", 0), 0u) << ok.text;  // No duration: stable text.
  EXPECT_NE(ok.text.find("hello\n"), std::string::npos);
  ToolResult env = Call("run", Json{{"command", "pwd; echo \"[$OPENAI_API_KEY]\""}});
  EXPECT_NE(env.text.find(root_.string()), std::string::npos) << env.text;
  EXPECT_NE(env.text.find("[]"), std::string::npos) << env.text;
  // Asking for 60s is capped at the task's command_timeout_seconds (2s).
  ToolResult slow = Call("run", Json{{"command", "sleep 10"}, {"timeout_seconds", 60}});
  EXPECT_NE(slow.text.find("timed out"), std::string::npos) << slow.text;
  ToolResult noisy = Call("run", Json{{"command", "seq 1 20000"}});
  EXPECT_NE(noisy.text.find("[output cut:"), std::string::npos);
  EXPECT_NE(noisy.text.find("\n1\n"), std::string::npos);
  EXPECT_NE(noisy.text.find("20000"), std::string::npos);
}

TEST_F(ToolsTest, FinishIsRefusedWhileChecksFail) {
  ToolResult verify = Call("verify", Json::object());
  EXPECT_FALSE(verify.is_error);
  ASSERT_TRUE(verify.report.has_value());
  EXPECT_FALSE(verify.report->passed());
  EXPECT_NE(verify.text.find("test: FAILED"), std::string::npos) << verify.text;

  ToolResult refused = Call("finish", Json{{"summary", "Renamed."}});
  EXPECT_TRUE(refused.is_error);
  EXPECT_TRUE(refused.malformed);
  EXPECT_FALSE(refused.finished);
  EXPECT_NE(refused.text.find("finish refused: the checks failed (test: FAILED"), std::string::npos)
      << refused.text;
}

TEST_F(ToolsTest, FinishRunsTheChecksItselfAfterEdits) {
  ASSERT_FALSE(
      Call("edit",
           Json{{"path", "pricing.py"}, {"search", "compute_total"}, {"replace", "compute_sum"}})
          .is_error);
  // cart.py still uses the old name: refused, with the report.
  ToolResult refused = Call("finish", Json{{"summary", "Renamed."}});
  EXPECT_TRUE(refused.is_error);
  ASSERT_TRUE(refused.report.has_value());
  EXPECT_NE(refused.text.find("cart.py"), std::string::npos) << refused.text;

  ASSERT_FALSE(
      Call("write_file", Json{{"path", "cart.py"}, {"content", "import pricing\n"}}).is_error);
  ToolResult finished = Call("finish", Json{{"summary", "Renamed."}});
  EXPECT_FALSE(finished.is_error) << finished.text;
  EXPECT_TRUE(finished.finished);
  EXPECT_FALSE(finished.not_applicable);
  EXPECT_EQ(finished.summary, "Renamed.");
  EXPECT_TRUE(finished.report.has_value());
}

// Every verify starts from the tree the tools were given plus what edit and write_file wrote:
// a build whose `ln -s` meets its own last output passes each time, and finish hands back no
// build output.
TEST_F(ToolsTest, EachVerifyStartsWithoutEarlierOutputs) {
  task_.verifiers = {{"build", "mkdir -p out && ln -s ../cart.py out/cart && ln -s cart.py link",
                      std::chrono::seconds(30)}};
  ASSERT_FALSE(Call("write_file", Json{{"path", "docs/new.md"}, {"content", "kept\n"}}).is_error);
  ASSERT_FALSE(
      Call("edit",
           Json{{"path", "pricing.py"}, {"search", "compute_total"}, {"replace", "compute_sum"}})
          .is_error);
  ASSERT_FALSE(Call("write_file", Json{{"path", ".gitignore"}, {"content", "*.o\n"}}).is_error);
  // A command's new files are the agent's edits (a move, a generated file) unless ignored.
  ASSERT_FALSE(
      Call("run", Json{{"command", "touch made-by-a-command.o && mkdir -p lib && mv cart.py "
                                   "lib/cart.py && cp lib/cart.py cart.py"}})
          .is_error);
  for (int i = 0; i < 2; ++i) {
    ToolResult verify = Call("verify", Json::object());
    ASSERT_TRUE(verify.report.has_value());
    EXPECT_TRUE(verify.report->passed()) << i << ": " << verify.text;
    EXPECT_FALSE(fs::exists(root_ / "made-by-a-command.o"));
    EXPECT_TRUE(fs::exists(root_ / "lib" / "cart.py"));
  }
  ToolResult finished = Call("finish", Json{{"summary", "Renamed."}});
  EXPECT_TRUE(finished.finished) << finished.text;
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "link")));
  EXPECT_FALSE(fs::exists(root_ / "out"));
  EXPECT_EQ(ReadTestFile(root_ / "docs" / "new.md"), "kept\n");
  EXPECT_NE(ReadTestFile(root_ / "pricing.py").find("compute_sum"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "cart.py"));
  EXPECT_TRUE(fs::exists(root_ / "lib" / "cart.py"));
}

TEST_F(ToolsTest, FinishNotApplicableNeedsNoPassingChecks) {
  ToolResult result =
      Call("finish", Json{{"summary", "Nothing to do."},
                          {"not_applicable_reason", "This repository has no pricing module."}});
  EXPECT_FALSE(result.is_error);
  EXPECT_TRUE(result.finished);
  EXPECT_TRUE(result.not_applicable);
  EXPECT_EQ(result.reason, "This repository has no pricing module.");
  EXPECT_FALSE(result.report.has_value());
}

TEST_F(ToolsTest, InvalidUtf8IsReplacedInWhatTheModelSees) {
  WriteTestFile(root_, "latin1.txt", "caf\xE9\n");
  ToolResult result = Call("read_file", Json{{"path", "latin1.txt"}});
  EXPECT_EQ(result.text, "1\tcaf\xEF\xBF\xBD\n");
}

TEST_F(ToolsTest, FindSymbolGivesPathLineAndSignature) {
  if (LanguageForPath("pricing.py") != "python") {
    GTEST_SKIP() << "this build has no tree-sitter grammar for python";
  }
  ToolResult found = Call("find_symbol", Json{{"name", "compute_total"}});
  EXPECT_FALSE(found.is_error);
  EXPECT_EQ(found.text, "pricing.py:1: def compute_total(items):\n");
  ToolResult missing = Call("find_symbol", Json{{"name", "no_such_name"}});
  EXPECT_FALSE(missing.is_error);
  EXPECT_NE(missing.text.find("no definition of no_such_name"), std::string::npos);
  ToolResult bad = Call("find_symbol", Json::object());
  EXPECT_TRUE(bad.malformed);
  EXPECT_NE(bad.text.find("'name'"), std::string::npos);
  // The index follows the model's own changes.
  ASSERT_FALSE(Call("write_file", Json{{"path", "tax.py"}, {"content", "def vat(x):\n  return x\n"}})
                   .is_error);
  EXPECT_EQ(Call("find_symbol", Json{{"name", "vat"}}).text, "tax.py:1: def vat(x):\n");
}

TEST_F(ToolsTest, ReferencesCoverCodeAndOtherFilesAndAreCapped) {
  WriteTestFile(root_, "config/app.yaml", "total_fn: compute_total\n");
  ToolResult found = Call("references", Json{{"name", "compute_total"}});
  EXPECT_FALSE(found.is_error);
  EXPECT_NE(found.text.find("config/app.yaml:1: total_fn: compute_total\n"), std::string::npos)
      << found.text;
  if (LanguageForPath("cart.py") == "python") {
    EXPECT_EQ(found.text,
              "cart.py:1: from pricing import compute_total\n"
              "cart.py:5: return compute_total(items)\n"
              "config/app.yaml:1: total_fn: compute_total\n");
  }
  std::string many;
  for (int i = 0; i < 150; ++i) many += "compute_total\n";
  ASSERT_FALSE(Call("write_file", Json{{"path", "notes.txt"}, {"content", many}}).is_error);
  ToolResult capped = Call("references", Json{{"name", "compute_total"}});
  EXPECT_NE(capped.text.find("references, first 100 shown"), std::string::npos);
  EXPECT_EQ(Call("references", Json{{"name", "nowhere_used"}}).text,
            "no references to nowhere_used found\n");
}

}  // namespace
}  // namespace drover::agent
