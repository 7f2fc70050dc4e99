// Verifier detection over real directories holding each ecosystem's marker files.
#include "verifiers/detect.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "tests/testing/testing.h"

namespace drover::verifiers {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;

// name -> "command  [why]" for compact expectations.
std::map<std::string, std::string> Detect(const std::filesystem::path& repo) {
  std::map<std::string, std::string> out;
  for (const auto& d : DetectVerifiers(repo)) {
    EXPECT_EQ(d.spec.name, VerifierKindName(d.kind));
    out[d.spec.name] = d.spec.command + "  [" + d.why + "]";
  }
  return out;
}

TEST(Detect, EmptyRepositoryProposesNothing) {
  TempDir dir;
  WriteTestFile(dir.path(), "README.md", "hello\n");
  EXPECT_TRUE(DetectVerifiers(dir.path()).empty());
}

TEST(Detect, Maven) {
  TempDir dir;
  WriteTestFile(dir.path(), "pom.xml", "<project/>\n");
  EXPECT_EQ(Detect(dir.path()),
            (std::map<std::string, std::string>{{"build", "mvn -B -q test-compile  [pom.xml]"},
                                                {"test", "mvn -B -q test  [pom.xml]"}}));
}

TEST(Detect, MavenWrapperWithoutExecutableBitRunsThroughSh) {
  TempDir dir;
  WriteTestFile(dir.path(), "pom.xml", "<project/>\n");
  WriteTestFile(dir.path(), "mvnw", "#!/bin/sh\n");
  std::filesystem::permissions(
      dir / "mvnw", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(Detect(dir.path())["test"], "sh ./mvnw -B -q test  [pom.xml, mvnw]");
}

TEST(Detect, GradleUsesTheWrapperWhenPresent) {
  TempDir dir;
  WriteTestFile(dir.path(), "build.gradle.kts", "plugins { java }\n");
  WriteTestFile(dir.path(), "gradlew", "#!/bin/sh\n");
  std::filesystem::permissions(dir / "gradlew", std::filesystem::perms::owner_all);
  auto found = Detect(dir.path());
  EXPECT_EQ(found["build"], "./gradlew --no-daemon -q assemble  [build.gradle.kts, gradlew]");
  EXPECT_EQ(found["test"], "./gradlew --no-daemon -q test  [build.gradle.kts, gradlew]");

  TempDir plain;
  WriteTestFile(plain.path(), "settings.gradle", "rootProject.name = 'x'\n");
  EXPECT_EQ(Detect(plain.path())["test"], "gradle --no-daemon -q test  [settings.gradle]");
}

TEST(Detect, Cargo) {
  TempDir dir;
  WriteTestFile(dir.path(), "Cargo.toml", "[package]\nname = \"x\"\n");
  EXPECT_EQ(Detect(dir.path()),
            (std::map<std::string, std::string>{{"build", "cargo build -q  [Cargo.toml]"},
                                                {"test", "cargo test -q  [Cargo.toml]"}}));
}

TEST(Detect, GoModulesGetBuildTestAndVet) {
  TempDir dir;
  WriteTestFile(dir.path(), "go.mod", "module example.com/x\n\ngo 1.21\n");
  auto detected = DetectVerifiers(dir.path());
  ASSERT_EQ(detected.size(), 3u);
  // Build, test, lint: the order they run in.
  EXPECT_EQ(detected[0].spec.command, "go build ./...");
  EXPECT_EQ(detected[1].spec.command, "go test ./...");
  EXPECT_EQ(detected[2].spec.command, "go vet ./...");
  EXPECT_EQ(detected[2].kind, VerifierKind::kLint);
  EXPECT_EQ(detected[2].why, "go.mod");
}

TEST(Detect, CMakeBuildsOutOfTreeAndTestsWhenEnabled) {
  TempDir dir;
  WriteTestFile(dir.path(), "CMakeLists.txt", "project(x)\nadd_executable(x main.cc)\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found.count("test"), 0u);
  // Out of the tree, so that build outputs never reach the diff: in the build dir the runner
  // keeps for the job, else in /tmp.
  const std::string build_dir =
      "b=\"${DROVER_CMAKE_BUILD_DIR:-${TMPDIR:-/tmp}/drover-cmake-build}\"";
  EXPECT_TRUE(found["build"].starts_with(build_dir)) << found["build"];
  EXPECT_NE(found["build"].find("cmake -S . -B \"$b\""), std::string::npos) << found["build"];

  WriteTestFile(dir.path(), "CMakeLists.txt",
                "project(x)\nenable_testing()\nadd_test(NAME t COMMAND x)\n");
  found = Detect(dir.path());
  EXPECT_EQ(found.count("build"), 0u);  // The test verifier builds too.
  EXPECT_NE(found["test"].find("cmake -S . -B \"$b\""), std::string::npos) << found["test"];
  EXPECT_NE(found["test"].find("ctest --test-dir \"$b\""), std::string::npos) << found["test"];
}

TEST(Detect, MakeTargets) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile",
                "CC := gcc\n.PHONY: all test lint\nall: app\n\napp: main.o\n\t$(CC) -o app main.o\n"
                "%.o: %.c\n\t$(CC) -c $<\ntest: all\n\t./app --self-test\nlint:\n\ttrue\n");
  EXPECT_EQ(Detect(dir.path()), (std::map<std::string, std::string>{
                                    {"build", "make -s  [Makefile: all target]"},
                                    {"test", "make -s test  [Makefile: test target]"},
                                    {"lint", "make -s lint  [Makefile: lint target]"}}));
}

TEST(Detect, MakeWhoseFirstTargetIsTestIsNoBuild) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile", "check:\n\t./run-checks\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found.count("build"), 0u);
  EXPECT_EQ(found["test"], "make -s check  [Makefile: check target]");
}

TEST(Detect, NpmScriptsThatExist) {
  TempDir dir;
  WriteTestFile(dir.path(), "package.json",
                R"({"name":"x","scripts":{"build":"tsc","test":"jest"}})");
  WriteTestFile(dir.path(), "package-lock.json", "{}");
  EXPECT_EQ(Detect(dir.path()),
            (std::map<std::string, std::string>{
                {"build", "npm run -s build  [package.json scripts.build, package-lock.json]"},
                {"test", "npm test --silent  [package.json scripts.test, package-lock.json]"}}));
}

TEST(Detect, LockFileChoosesThePackageManager) {
  TempDir yarn;
  WriteTestFile(yarn.path(), "package.json", R"({"scripts":{"test":"jest","lint":"eslint ."}})");
  WriteTestFile(yarn.path(), "yarn.lock", "");
  auto found = Detect(yarn.path());
  EXPECT_EQ(found["test"], "yarn test  [package.json scripts.test, yarn.lock]");
  EXPECT_EQ(found["lint"], "yarn run lint  [package.json scripts.lint, yarn.lock]");

  TempDir pnpm;
  WriteTestFile(pnpm.path(), "package.json", R"({"scripts":{"build":"vite build"}})");
  WriteTestFile(pnpm.path(), "pnpm-lock.yaml", "lockfileVersion: 6\n");
  EXPECT_EQ(Detect(pnpm.path())["build"],
            "pnpm run build  [package.json scripts.build, pnpm-lock.yaml]");
}

TEST(Detect, NpmPlaceholderTestAndMalformedPackageJsonProposeNothing) {
  TempDir dir;
  WriteTestFile(dir.path(), "package.json",
                R"({"scripts":{"test":"echo \"Error: no test specified\" && exit 1"}})");
  EXPECT_TRUE(DetectVerifiers(dir.path()).empty());
  WriteTestFile(dir.path(), "package.json", "{ not json");
  EXPECT_TRUE(DetectVerifiers(dir.path()).empty());
}

TEST(Detect, PythonPytestWhenConfigured) {
  TempDir dir;
  WriteTestFile(dir.path(), "pyproject.toml",
                "[project]\nname = \"x\"\n[tool.pytest.ini_options]\naddopts = \"-q\"\n");
  WriteTestFile(dir.path(), "tests/test_x.py", "def test_x():\n    assert True\n");
  EXPECT_EQ(Detect(dir.path()),
            (std::map<std::string, std::string>{
                {"test", "python3 -m pytest -q  [pyproject.toml mentions pytest]"}}));
}

TEST(Detect, PythonUnittestDiscovery) {
  TempDir top;
  WriteTestFile(top.path(), "calc.py", "def add(a, b):\n    return a + b\n");
  WriteTestFile(top.path(), "test_calc.py", "import unittest\n");
  EXPECT_EQ(Detect(top.path())["test"], "python3 -m unittest discover -q  [test*.py files]");

  // A tests/ folder that is not a package must be the start directory.
  TempDir folder;
  WriteTestFile(folder.path(), "tests/test_calc.py", "import unittest\n");
  EXPECT_EQ(Detect(folder.path())["test"],
            "python3 -m unittest discover -q -s tests  [tests/*.py]");

  // A tests/ folder without Python in it is not a Python project.
  TempDir other;
  WriteTestFile(other.path(), "tests/run.sh", "#!/bin/sh\n");
  EXPECT_TRUE(DetectVerifiers(other.path()).empty());
}

TEST(Detect, MakefileTargetsWinOverLanguageDefaultsOncePerKind) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile", "test:\n\tnpm test\n");
  WriteTestFile(dir.path(), "package.json",
                R"({"scripts":{"build":"tsc","test":"jest","lint":"eslint ."}})");
  auto detected = DetectVerifiers(dir.path());
  ASSERT_EQ(detected.size(), 3u);
  // The Makefile names no build, so the package.json one stands; its test is the Makefile's.
  EXPECT_EQ(detected[0].spec.command, "npm run -s build");
  EXPECT_EQ(detected[1].spec.command, "make -s test");
  EXPECT_EQ(detected[1].why, "Makefile: test target");
  EXPECT_EQ(detected[2].spec.command, "npm run -s lint");
}

TEST(Detect, SymlinkedMarkersAreIgnored) {
  TempDir outside;
  WriteTestFile(outside.path(), "package.json", R"({"scripts":{"test":"steal-secrets"}})");
  WriteTestFile(outside.path(), "Makefile", "test:\n\ttrue\n");
  TempDir dir;
  std::filesystem::create_symlink(outside / "package.json", dir / "package.json");
  std::filesystem::create_symlink(outside / "Makefile", dir / "Makefile");
  std::filesystem::create_symlink(outside.path(), dir / "tests");
  WriteTestFile(outside.path(), "test_x.py", "import unittest\n");
  std::filesystem::create_symlink(outside / "test_x.py", dir / "test_x.py");
  EXPECT_TRUE(DetectVerifiers(dir.path()).empty());
}

TEST(Detect, ToJsonCarriesKindAndWhy) {
  TempDir dir;
  WriteTestFile(dir.path(), "go.mod", "module x\n");
  auto detected = DetectVerifiers(dir.path());
  ASSERT_FALSE(detected.empty());
  Json json = ToJson(detected[0]);
  EXPECT_EQ(json["name"], "build");
  EXPECT_EQ(json["kind"], "build");
  EXPECT_EQ(json["why"], "go.mod");
  EXPECT_EQ(json["command"], "go build ./...");
  EXPECT_EQ(json["timeout_seconds"], 600);
}

}  // namespace
}  // namespace drover::verifiers
