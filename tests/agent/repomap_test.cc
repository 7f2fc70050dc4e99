#include "agent/repomap.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/fs.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

bool HasGrammar(const std::string& language) {
  auto all = GrammarLanguages();
  return std::find(all.begin(), all.end(), language) != all.end();
}

#define REQUIRE_GRAMMAR(language)                                          \
  if (!HasGrammar(language))                                               \
  GTEST_SKIP() << "this build has no tree-sitter grammar for " << language \
               << " (npm could not fetch it at configure time)"

// "name@line kind" for every definition, in order.
std::vector<std::string> Defs(const Extracted& extracted) {
  std::vector<std::string> out;
  for (const auto& def : extracted.definitions) {
    out.push_back(def.name + "@" + std::to_string(def.line) + " " + def.kind);
  }
  return out;
}

std::vector<int> RefLines(const Extracted& extracted, const std::string& name) {
  for (const auto& ref : extracted.references) {
    if (ref.name == name) return ref.lines;
  }
  return {};
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(TreeSitterLangs, EveryQueryCompilesAgainstItsGrammar) {
  if (GrammarLanguages().empty()) GTEST_SKIP() << "this build has no tree-sitter grammars";
  for (const auto& language : GrammarLanguages()) {
    auto extracted = ExtractWithGrammar(language, "");
    EXPECT_TRUE(extracted.has_value()) << language << ": " << extracted.error().message;
  }
  EXPECT_EQ(ExtractWithGrammar("cobol", "x").error().code, ErrorCode::kInvalidArgument);
}

TEST(TreeSitterLangs, MapsFileNamesToGrammars) {
  REQUIRE_GRAMMAR("typescript");
  EXPECT_EQ(LanguageForPath("src/a/b.ts"), "typescript");
  EXPECT_EQ(LanguageForPath("ui/App.tsx"), "tsx");
  EXPECT_EQ(LanguageForPath("schema.sql"), "");
  EXPECT_EQ(LanguageForPath("Makefile"), "");
}

TEST(TreeSitterLangs, Python) {
  REQUIRE_GRAMMAR("python");
  auto out = ExtractWithGrammar("python",
                                "import schema\n"                  // 1
                                "LIMIT = 10\n"                     // 2
                                "\n"                               // 3
                                "class Event:\n"                   // 4
                                "    user_id: str = ''\n"          // 5
                                "\n"                               // 6
                                "    def load(self, row):\n"       // 7
                                "        return row['user_id']\n"  // 8
                                "\n"                               // 9
                                "def parse(text):\n"               // 10
                                "    return Event().load(schema.decode(text))\n");
  ASSERT_OK(out);
  EXPECT_EQ(Defs(*out),
            (std::vector<std::string>{"LIMIT@2 variable", "Event@4 class", "user_id@5 field",
                                      "load@7 function", "parse@10 function"}));
  EXPECT_EQ(out->definitions[3].signature, "def load(self, row):");
  EXPECT_EQ(RefLines(*out, "user_id"), std::vector<int>{8});  // The string key, not line 5.
  EXPECT_EQ(RefLines(*out, "Event"), std::vector<int>{11});
  EXPECT_EQ(RefLines(*out, "schema"), (std::vector<int>{1, 11}));
  EXPECT_EQ(RefLines(*out, "decode"), std::vector<int>{11});
}

TEST(TreeSitterLangs, Go) {
  REQUIRE_GRAMMAR("go");
  auto out = ExtractWithGrammar("go",
                                "package events\n"                                    // 1
                                "\n"                                                  // 2
                                "type Event struct {\n"                               // 3
                                "\tUserID string `json:\"user_id\"`\n"                // 4
                                "}\n"                                                 // 5
                                "\n"                                                  // 6
                                "type Store interface {\n"                            // 7
                                "\tGet(id string) (*Event, error)\n"                  // 8
                                "}\n"                                                 // 9
                                "\n"                                                  // 10
                                "const Version = 2\n"                                 // 11
                                "\n"                                                  // 12
                                "func (e *Event) Key() string { return e.UserID }\n"  // 13
                                "\n"                                                  // 14
                                "func Load(s Store) *Event { e, _ := s.Get(\"x\"); return e }\n");
  ASSERT_OK(out);
  EXPECT_EQ(Defs(*out), (std::vector<std::string>{"Event@3 type", "UserID@4 field", "Store@7 type",
                                                  "Get@8 method", "Version@11 constant",
                                                  "Key@13 method", "Load@15 function"}));
  EXPECT_EQ(RefLines(*out, "UserID"), std::vector<int>{13});
  EXPECT_EQ(RefLines(*out, "user_id"), std::vector<int>{4});  // Inside the struct tag.
  EXPECT_EQ(RefLines(*out, "Get"), std::vector<int>{15});
  EXPECT_EQ(RefLines(*out, "Event"), (std::vector<int>{8, 13, 15}));
}

TEST(TreeSitterLangs, Java) {
  REQUIRE_GRAMMAR("java");
  auto out = ExtractWithGrammar("java",
                                "package com.example;\n"                                // 1
                                "\n"                                                    // 2
                                "public class PlaylistEvent {\n"                        // 3
                                "  private String userId;\n"                            // 4
                                "  public PlaylistEvent(String id) { userId = id; }\n"  // 5
                                "  public String getUserId() {\n"                       // 6
                                "    return userId;\n"                                  // 7
                                "  }\n"                                                 // 8
                                "}\n"                                                   // 9
                                "interface Sink { void accept(PlaylistEvent e); }\n");
  ASSERT_OK(out);
  EXPECT_EQ(Defs(*out), (std::vector<std::string>{"PlaylistEvent@3 class", "userId@4 field",
                                                  "PlaylistEvent@5 method", "getUserId@6 method",
                                                  "Sink@10 interface", "accept@10 method"}));
  EXPECT_EQ(RefLines(*out, "userId"), (std::vector<int>{5, 7}));
  EXPECT_EQ(RefLines(*out, "PlaylistEvent"), std::vector<int>{10});
}

TEST(TreeSitterLangs, TypeScript) {
  REQUIRE_GRAMMAR("typescript");
  auto out = ExtractWithGrammar("typescript",
                                "import { fetchRows } from './db';\n"               // 1
                                "export interface Event {\n"                        // 2
                                "  userId: string;\n"                               // 3
                                "}\n"                                               // 4
                                "export type Id = string;\n"                        // 5
                                "export const toEvent = (row: any): Event => ({\n"  // 6
                                "  userId: row['user_id'],\n"                       // 7
                                "});\n"                                             // 8
                                "export class Reader {\n"                           // 9
                                "  async all(): Promise<Event[]> {\n"               // 10
                                "    return (await fetchRows()).map(toEvent);\n"    // 11
                                "  }\n"                                             // 12
                                "}\n");
  ASSERT_OK(out);
  auto defs = Defs(*out);
  for (const char* want : {"Event@2 interface", "userId@3 field", "Id@5 type", "toEvent@6 function",
                           "Reader@9 class", "all@10 method"}) {
    EXPECT_TRUE(Contains(defs, want)) << want;
  }
  EXPECT_EQ(RefLines(*out, "fetchRows"), (std::vector<int>{1, 11}));
  EXPECT_EQ(RefLines(*out, "user_id"), std::vector<int>{7});
  EXPECT_EQ(RefLines(*out, "toEvent"), std::vector<int>{11});
}

TEST(TreeSitterLangs, Cpp) {
  REQUIRE_GRAMMAR("cpp");
  auto out = ExtractWithGrammar("cpp",
                                "#define MAX_ROWS 10\n"        // 1
                                "namespace events {\n"         // 2
                                "struct Row {\n"               // 3
                                "  int user_id;\n"             // 4
                                "};\n"                         // 5
                                "class Store {\n"              // 6
                                " public:\n"                   // 7
                                "  Row Load(int id);\n"        // 8
                                "};\n"                         // 9
                                "Row Store::Load(int id) {\n"  // 10
                                "  Row row;\n"                 // 11
                                "  row.user_id = id;\n"        // 12
                                "  return row;\n"              // 13
                                "}\n"                          // 14
                                "}  // namespace events\n");
  ASSERT_OK(out);
  EXPECT_EQ(Defs(*out),
            (std::vector<std::string>{"MAX_ROWS@1 macro", "events@2 module", "Row@3 struct",
                                      "user_id@4 field", "Store@6 class", "Load@8 method",
                                      "Load@10 function"}));
  EXPECT_EQ(RefLines(*out, "user_id"), std::vector<int>{12});
  EXPECT_EQ(RefLines(*out, "Row"), (std::vector<int>{8, 10, 11}));
}

TEST(TreeSitterLangs, WordsOfTextFiles) {
  auto words = ExtractWords("SELECT user_id FROM events.v2\n-- playlist-events, 42 rows\n");
  auto lines = [&](const std::string& name) {
    for (const auto& ref : words) {
      if (ref.name == name) return ref.lines;
    }
    return std::vector<int>{};
  };
  EXPECT_EQ(lines("user_id"), std::vector<int>{1});
  EXPECT_EQ(lines("events.v2"), std::vector<int>{1});
  EXPECT_EQ(lines("playlist-events"), std::vector<int>{2});
  EXPECT_EQ(lines("rows"), std::vector<int>{2});
  EXPECT_TRUE(lines("42").empty());
}

TEST(SeedTerms, TakesCodeLikeWordsAndQuotedOnes) {
  auto seeds = SeedTerms(
      "The `playlist_events` dataset renamed user_id to accountId and moved to "
      "events.v2; update every consumer of \"PlaylistEvent\". Don't touch tests.");
  for (const char* want :
       {"playlist_events", "user_id", "accountId", "events.v2", "events", "PlaylistEvent"}) {
    EXPECT_TRUE(Contains(seeds, want)) << want;
  }
  for (const char* prose : {"The", "dataset", "renamed", "update", "consumer", "Don", "tests"}) {
    EXPECT_FALSE(Contains(seeds, prose)) << prose;
  }
}

class RepoMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "repo";
    // A hub every module uses, a consumer of the old field, and unrelated code.
    WriteTestFile(root_, "app/util.py",
                  "def log(msg):\n    print(msg)\n\n\ndef retry(fn):\n    return fn()\n");
    WriteTestFile(root_, "app/orders.py",
                  "from app.util import log, retry\n\n\ndef place(order):\n"
                  "    log('placing')\n    return retry(lambda: order)\n");
    WriteTestFile(root_, "app/billing.py",
                  "from app.util import log\n\n\ndef charge(amount):\n    log('charge')\n"
                  "    return amount\n");
    WriteTestFile(root_, "app/consumer.py",
                  "from app.util import log\n\n\ndef handle(row):\n    log('event')\n"
                  "    return row['user_id']\n");
    WriteTestFile(root_, "db/schema.sql", "CREATE TABLE events (\n  user_id TEXT\n);\n");
    WriteTestFile(root_, "config/app.yaml", "name: app\nkey_field: user_id\n");
    WriteTestFile(root_, "node_modules/lib/index.js", "function user_id() {}\n");
    WriteTestFile(root_, "logo.png", std::string("\x89PNG\0\0user_id", 13));
  }

  RepoMap Build(const fs::path& cache = {}, RepoMapOptions options = {}) {
    options.cache_dir = cache;
    auto map = RepoMap::Build(Workspace(root_), options);
    EXPECT_OK(map);
    return std::move(map.value());
  }

  // Every file's definitions as "path:line:kind:name", for comparing maps.
  static std::vector<std::string> AllDefinitions(const RepoMap& map) {
    std::vector<std::string> all;
    for (size_t f = 0; f < map.paths().size(); ++f) {
      for (const auto& def : map.File(f).definitions) {
        all.push_back(map.paths()[f] + ":" + std::to_string(def.line) + ":" + def.kind + ":" +
                      def.name);
      }
    }
    return all;
  }

  TempDir tmp_;
  fs::path root_;
};

TEST_F(RepoMapTest, SkipsDependenciesAndBinaries) {
  RepoMap map = Build();
  EXPECT_EQ(map.paths(),
            (std::vector<std::string>{"app/billing.py", "app/consumer.py", "app/orders.py",
                                      "app/util.py", "config/app.yaml", "db/schema.sql"}));
  EXPECT_EQ(map.stats().skipped, 1u);  // The PNG.
}

TEST_F(RepoMapTest, RanksTheFileUsingTheOldFieldFirst) {
  REQUIRE_GRAMMAR("python");
  RepoMap map = Build();
  auto seeds = SeedTerms("Rename the field `user_id` to account_id in every consumer.");
  auto ranked = map.Rank(seeds);
  ASSERT_EQ(ranked.size(), 6u);
  EXPECT_EQ(ranked[0].path, "app/consumer.py");
  EXPECT_GT(ranked[0].seed_mentions, 0);
  // Without seeds the hub everybody uses comes first.
  EXPECT_EQ(map.Rank({})[0].path, "app/util.py");
  // The same input gives the same order.
  auto again = map.Rank(seeds);
  for (size_t i = 0; i < ranked.size(); ++i) EXPECT_EQ(again[i].path, ranked[i].path);
}

TEST_F(RepoMapTest, RenderShowsDefinitionsAndMatchedLinesWithinBudget) {
  REQUIRE_GRAMMAR("python");
  RepoMap map = Build();
  auto seeds = SeedTerms("Rename `user_id` to `account_id`.");
  std::string text = map.Render(seeds, 2000);
  EXPECT_TRUE(text.starts_with("app/consumer.py:\n")) << text;
  EXPECT_NE(text.find("  4: def handle(row):\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  6: return row['user_id']\n"), std::string::npos) << text;
  // Files without a grammar appear by their matched lines.
  EXPECT_NE(text.find("db/schema.sql:\n  2: user_id TEXT\n"), std::string::npos) << text;
  EXPECT_NE(text.find("config/app.yaml:\n  2: key_field: user_id\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("node_modules"), std::string::npos);

  for (size_t tokens : {10u, 25u, 60u}) {
    std::string small = map.Render(seeds, tokens);
    EXPECT_LE(small.size(), tokens * 4) << small;
    EXPECT_LT(small.size(), text.size());
  }
  EXPECT_EQ(map.Render(seeds, 25).substr(0, 17), "app/consumer.py:\n");
}

TEST_F(RepoMapTest, FindsDefinitionsAndReferences) {
  REQUIRE_GRAMMAR("python");
  RepoMap map = Build();
  auto defs = map.Definitions("log");
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].path, "app/util.py");
  EXPECT_EQ(defs[0].line, 1);
  EXPECT_EQ(defs[0].text, "def log(msg):");
  EXPECT_EQ(map.Definitions("util.log").size(), 1u);
  auto refs = map.References("user_id");
  std::vector<std::string> where;
  for (const auto& ref : refs) where.push_back(ref.path + ":" + std::to_string(ref.line));
  EXPECT_EQ(where, (std::vector<std::string>{"app/consumer.py:6", "config/app.yaml:2",
                                             "db/schema.sql:2"}));
}

TEST_F(RepoMapTest, SecondBuildTakesParsesFromTheCache) {
  REQUIRE_GRAMMAR("python");
  fs::path cache = tmp_.path() / "cache";
  RepoMap first = Build(cache);
  EXPECT_EQ(first.stats().parsed, 0u);  // Nothing is parsed before it is needed.
  first.ExtractAll();
  EXPECT_EQ(first.stats().parsed, 4u);
  EXPECT_EQ(first.stats().cache_hits, 0u);
  RepoMap second = Build(cache);
  second.ExtractAll();
  EXPECT_EQ(second.stats().parsed, 0u);
  EXPECT_EQ(second.stats().cache_hits, 4u);
  ASSERT_EQ(first.paths(), second.paths());
  for (size_t i = 0; i < first.paths().size(); ++i) {
    const auto& a = first.File(i);
    const auto& b = second.File(i);
    ASSERT_EQ(a.definitions.size(), b.definitions.size()) << a.path;
    for (size_t d = 0; d < a.definitions.size(); ++d) {
      EXPECT_EQ(a.definitions[d].name, b.definitions[d].name);
      EXPECT_EQ(a.definitions[d].line, b.definitions[d].line);
      EXPECT_EQ(a.definitions[d].signature, b.definitions[d].signature);
    }
    ASSERT_EQ(a.references.size(), b.references.size()) << a.path;
    for (size_t r = 0; r < a.references.size(); ++r) {
      EXPECT_EQ(a.references[r].name, b.references[r].name);
      EXPECT_EQ(a.references[r].lines, b.references[r].lines);
    }
  }
  // A changed file misses; the others still hit.
  WriteTestFile(root_, "app/billing.py", "def charge(amount, currency):\n    return amount\n");
  RepoMap third = Build(cache);
  third.ExtractAll();
  EXPECT_EQ(third.stats().parsed, 1u);
  EXPECT_EQ(third.stats().cache_hits, 3u);
}

TEST_F(RepoMapTest, CorruptOrForgedCacheEntriesAreIgnored) {
  REQUIRE_GRAMMAR("python");
  fs::path cache = tmp_.path() / "cache";
  RepoMap clean = Build(cache);
  clean.ExtractAll();
  std::vector<fs::path> entries;
  for (const auto& entry : fs::recursive_directory_iterator(cache)) {
    if (entry.is_regular_file()) entries.push_back(entry.path());
  }
  std::sort(entries.begin(), entries.end());
  ASSERT_EQ(entries.size(), 4u);
  // Garbage; a cut-off entry; a well-formed entry that claims a definition the file lacks;
  // one whose header names another file's hash.
  std::string header = drover::testing::ReadTestFile(entries[2]);
  header = header.substr(0, header.find('\n') + 1);
  std::string other = drover::testing::ReadTestFile(entries[0]);
  WriteTestFile(entries[0].parent_path(), entries[0].filename().string(), "\x01garbage");
  std::string whole = drover::testing::ReadTestFile(entries[1]);
  WriteTestFile(entries[1].parent_path(), entries[1].filename().string(),
                whole.substr(0, whole.size() - 3));
  WriteTestFile(entries[2].parent_path(), entries[2].filename().string(),
                header + "d\t1\tfunction\tsteal_keys\n");
  WriteTestFile(entries[3].parent_path(), entries[3].filename().string(), other);

  RepoMap again = Build(cache);
  again.ExtractAll();
  EXPECT_EQ(again.stats().cache_rejected, 4u);
  EXPECT_EQ(again.stats().parsed, 4u);
  EXPECT_TRUE(again.Definitions("steal_keys").empty());
  EXPECT_EQ(again.Definitions("handle").size(), clean.Definitions("handle").size());
  // The entries were written again, good this time.
  RepoMap rewritten = Build(cache);
  rewritten.ExtractAll();
  EXPECT_EQ(rewritten.stats().cache_hits, 4u);
}

// A repository over the parse-all bound: building reads words only; ranking parses the files
// that mention the seeds and their likely neighbours; the tools parse what they need.
TEST_F(RepoMapTest, ALargeRepositoryIsParsedOnlyWhereItMatters) {
  REQUIRE_GRAMMAR("python");
  RepoMapOptions lazy;
  lazy.parse_all_up_to = 2;
  lazy.rank_parse_files = 2;
  RepoMap map = Build({}, lazy);
  EXPECT_EQ(map.stats().files, 6u);
  EXPECT_EQ(map.stats().parsed, 0u);

  auto seeds = SeedTerms("Rename the field `user_id` to account_id in every consumer.");
  auto ranked = map.Rank(seeds);
  ASSERT_EQ(ranked.size(), 6u);
  EXPECT_EQ(ranked[0].path, "app/consumer.py");
  // The consumer, and the module it imports from.
  EXPECT_EQ(map.stats().parsed, 2u);

  // find_symbol of a name only one unparsed file defines parses the files that hold the word.
  auto defs = map.Definitions("charge");
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].path, "app/billing.py");
  EXPECT_EQ(defs[0].text, "def charge(amount):");
  EXPECT_EQ(map.stats().parsed, 3u);

  std::string text = map.Render(seeds, 2000);
  EXPECT_TRUE(text.starts_with("app/consumer.py:\n  4: def handle(row):\n")) << text;
  EXPECT_NE(text.find("db/schema.sql:\n  2: user_id TEXT\n"), std::string::npos) << text;

  // The same answers as a map that parsed everything up front.
  RepoMap eager = Build();
  eager.ExtractAll();
  EXPECT_EQ(AllDefinitions(map), AllDefinitions(eager));
  for (const char* name : {"log", "user_id", "retry", "app", "key_field"}) {
    auto a = map.References(name);
    auto b = eager.References(name);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].path + ":" + std::to_string(a[i].line),
                b[i].path + ":" + std::to_string(b[i].line));
    }
  }
}

TEST_F(RepoMapTest, RankingDoesNotDependOnWhatWasParsedBefore) {
  REQUIRE_GRAMMAR("python");
  RepoMapOptions lazy;
  lazy.parse_all_up_to = 2;
  lazy.rank_parse_files = 2;
  auto seeds = SeedTerms("Rename `user_id`.");
  RepoMap fresh = Build({}, lazy);
  RepoMap used = Build({}, lazy);
  used.ExtractAll();
  auto a = fresh.Rank(seeds);
  auto b = used.Rank(seeds);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].score, b[i].score);
  }
  EXPECT_EQ(fresh.Render(seeds, 500), used.Render(seeds, 500));
}

TEST_F(RepoMapTest, ConcurrentLookupsAgree) {
  REQUIRE_GRAMMAR("python");
  RepoMapOptions lazy;
  lazy.parse_all_up_to = 0;
  RepoMap map = Build({}, lazy);
  std::vector<std::vector<Location>> found(8);
  {
    std::vector<std::jthread> threads;
    for (size_t t = 0; t < found.size(); ++t) {
      threads.emplace_back(
          [&, t] { found[t] = t % 2 == 0 ? map.Definitions("log") : map.References("log"); });
    }
  }
  EXPECT_EQ(found[0].size(), 1u);
  EXPECT_EQ(found[1].size(), 6u);  // The import and the call in each of three modules.
  for (size_t t = 2; t < found.size(); ++t) EXPECT_EQ(found[t].size(), found[t % 2].size());
  // Every file was parsed once, whichever thread got there first.
  EXPECT_EQ(map.stats().parsed, 4u);
}

}  // namespace
}  // namespace drover::agent
