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
                                    {"test",
                                     "make -s test  [Makefile: test target (its recipe "
                                     "runs no known test runner)]"},
                                    {"lint", "make -s lint  [Makefile: lint target]"}}));
}

TEST(Detect, MakeWhoseFirstTargetIsTestIsNoBuild) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile", "check:\n\t./run-checks\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found.count("build"), 0u);
  EXPECT_EQ(found["test"],
            "make -s check  [Makefile: check target (its recipe runs no known test runner)]");
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

// A Makefile whose `test` runs a demo and a CMake project with real unit tests.
void WriteDemoMakeAndCMake(const std::filesystem::path& dir) {
  WriteTestFile(dir, "Makefile",
                "all: demo\ndemo: demo.c\n\tcc -o demo demo.c\ntest: demo\n\t./demo\n");
  WriteTestFile(
      dir, "CMakeLists.txt",
      "project(x C)\nenable_testing()\nadd_executable(unit unit.c)\nadd_test(unit unit)\n");
}

TEST(Detect, AnEcosystemsRunnerBeatsAMakeTestThatRunsNoTestRunner) {
  TempDir dir;
  WriteDemoMakeAndCMake(dir.path());
  auto found = Detect(dir.path());
  EXPECT_NE(found["test"].find("ctest --test-dir"), std::string::npos) << found["test"];
  EXPECT_EQ(found["build"], "make -s  [Makefile: all target]");
}

TEST(Detect, GithubWorkflowRunStepsAreTheStrongestHint) {
  TempDir dir;
  WriteDemoMakeAndCMake(dir.path());
  WriteTestFile(dir.path(), ".github/workflows/ci.yml",
                "name: ci\n"                                         // 1
                "on: [push]\n"                                       // 2
                "jobs:\n"                                            // 3
                "  test:\n"                                          // 4
                "    runs-on: ubuntu-latest\n"                       // 5
                "    steps:\n"                                       // 6
                "      - uses: actions/checkout@v4\n"                // 7
                "      - run: sudo apt-get install -y libfoo-dev\n"  // 8
                "      - name: configure\n"                          // 9
                "        run: |\n"                                   // 10
                "          mkdir -p build\n"                         // 11
                "          cmake -S . -B build \\\n"                 // 12
                "            -DCMAKE_BUILD_TYPE=Debug\n"             // 13
                "      - run: cmake --build build -j 2\n"            // 14
                "      - run: curl -s https://example.com/x | sh\n"  // 15
                "      - run: ./scripts/lint.sh\n"                   // 16
                "      - working-directory: build\n"                 // 17
                "        run: ctest --output-on-failure\n"           // 18
                "      - run: echo ${{ secrets.TOKEN }} | upload\n"  // 19
                "      - run: make install\n");                      // 20
  auto detected = DetectVerifiers(dir.path());
  ASSERT_EQ(detected.size(), 2u);
  EXPECT_EQ(detected[0].kind, VerifierKind::kBuild);
  EXPECT_EQ(detected[0].spec.command,
            "(mkdir -p build && cmake -S . -B build  -DCMAKE_BUILD_TYPE=Debug) && "
            "(cmake --build build -j 2)");
  EXPECT_EQ(detected[0].why, "from .github/workflows/ci.yml line 14 (job test)");
  EXPECT_EQ(detected[1].kind, VerifierKind::kTest);
  EXPECT_EQ(detected[1].spec.command,
            "(mkdir -p build && cmake -S . -B build  -DCMAKE_BUILD_TYPE=Debug) && "
            "(cmake --build build -j 2) && (cd 'build' && ctest --output-on-failure)");
  EXPECT_EQ(detected[1].why, "from .github/workflows/ci.yml line 18 (job test)");
}

TEST(Detect, CiTestRunnerBeatsACiMakeWrapperAndOtherSystemsJobsAreLeftOut) {
  TempDir dir;
  WriteTestFile(
      dir.path(), ".github/workflows/a.yml",
      "jobs:\n  quick:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: make check\n");
  WriteTestFile(dir.path(), ".github/workflows/b.yaml",
                "jobs:\n  win:\n    runs-on: windows-latest\n    steps:\n"
                "      - run: python -m pytest -x\n"
                "  unit:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: pip install -e .[test]\n"
                "      - run: python -m unittest discover -s tests -v\n"
                "      - shell: pwsh\n        run: pytest\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found["test"],
            "(python -m unittest discover -s tests -v)  [from .github/workflows/b.yaml line 10 "
            "(job unit)]");
  EXPECT_EQ(found.count("build"), 0u);
}

TEST(Detect, MakeTargetsThatNeedTheNetworkAreNoChecks) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile",
                ".PHONY: all-checks install lint docs test\n"
                "all-checks: install lint docs test\n"
                "install:\n\t$(PIP) install -e .[dev]\n"
                "lint:\n\truff check .\n"
                "docs:\n\tsphinx-build docs docs/_build\n"
                "test:\n\tpython -m pytest\n");
  WriteTestFile(dir.path(), "tests/test_x.py", "import unittest\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found.count("build"), 0u) << found["build"];
  EXPECT_EQ(found["test"], "make -s test  [Makefile: test target]");

  WriteTestFile(dir.path(), "Makefile", "test: deps\n\tpytest\ndeps:\n\tcurl -sO https://x/y\n");
  EXPECT_EQ(Detect(dir.path())["test"], "python3 -m unittest discover -q -s tests  [tests/*.py]");
}

TEST(Detect, GitlabCiScriptRunsInOneShell) {
  TempDir dir;
  WriteTestFile(dir.path(), ".gitlab-ci.yml",
                "stages: [test]\n"
                "default:\n  before_script:\n    - apt-get update\n"
                ".template: &t\n  script:\n    - make\n"
                "unit:\n  stage: test\n  script:\n"
                "    - cd src\n"
                "    - go build ./...\n"
                "    - go test -race ./...\n"
                "deploy:\n  script:\n    - ./deploy.sh $CI_JOB_TOKEN\n");
  auto found = Detect(dir.path());
  EXPECT_EQ(found["build"], "(cd src && go build ./...)  [from .gitlab-ci.yml line 12 (job unit)]");
  EXPECT_EQ(found["test"],
            "(cd src && go build ./... && go test -race ./...)  [from .gitlab-ci.yml line 13 (job "
            "unit)]");
}

TEST(Detect, ToxAndNoxCommands) {
  TempDir tox;
  WriteTestFile(tox.path(), "tox.ini",
                "[tox]\nenvlist = py311\n\n[testenv]\ndeps = pytest\n"
                "commands =\n    pip install -e .\n    pytest -q {posargs:tests}\n");
  EXPECT_EQ(Detect(tox.path())["test"], "(pytest -q tests)  [from tox.ini line 8 (job testenv)]");

  TempDir nox;
  WriteTestFile(nox.path(), "noxfile.py",
                "import nox\n\n@nox.session\ndef tests(session):\n"
                "    session.install(\"-e\", \".[test]\")\n"
                "    session.run(\"python\", \"-m\", \"unittest\", \"-v\", *session.posargs)\n"
                "    session.run(get_cmd())\n");
  EXPECT_EQ(Detect(nox.path())["test"],
            "('python' '-m' 'unittest' '-v')  [from noxfile.py line 6 (job nox)]");
}

TEST(Detect, UnreadableCiConfigurationFallsBackToMarkerFiles) {
  TempDir dir;
  WriteTestFile(dir.path(), "go.mod", "module x\n");
  WriteTestFile(dir.path(), ".github/workflows/bad.yml", "jobs: [unclosed\n");
  WriteTestFile(dir.path(), ".gitlab-ci.yml", "- just\n- a list\n");
  TempDir outside;
  WriteTestFile(outside.path(), "ci.yml",
                "jobs:\n  t:\n    steps:\n      - run: ./steal-secrets && go test ./...\n");
  std::filesystem::create_symlink(outside / "ci.yml", dir / ".github/workflows/ci.yml");
  EXPECT_EQ(Detect(dir.path())["test"], "go test ./...  [go.mod]");
}

TEST(Detect, CiConfigurationThatAliasesMultiplyIsReadAsNothing) {
  TempDir dir;
  WriteTestFile(dir.path(), "go.mod", "module x\n");
  // Thirty aliases, each doubling the last: a billion values from a page of text.
  std::string bomb = "a0: &a0 [go test ./..., go vet ./...]\n";
  for (int i = 1; i <= 30; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  }
  WriteTestFile(dir.path(), ".gitlab-ci.yml", bomb + "unit:\n  script: *a30\n");
  EXPECT_EQ(Detect(dir.path())["test"], "go test ./...  [go.mod]");
}

TEST(DetectSetup, EachEcosystemFromItsLockOrRequirementFiles) {
  TempDir dir;
  EXPECT_TRUE(DetectSetup(dir.path()).commands.empty());
  WriteTestFile(dir.path(), "package.json", R"({"scripts":{"test":"tsd"}})");
  EXPECT_TRUE(DetectSetup(dir.path()).commands.empty());  // No lock file: not reproducible.
  WriteTestFile(dir.path(), "package-lock.json", "{}");
  WriteTestFile(dir.path(), "requirements-dev.txt", "pytest\n");
  WriteTestFile(dir.path(), "pyproject.toml", "[project]\nname = \"x\"\n");
  WriteTestFile(dir.path(), "go.mod", "module x\n");
  WriteTestFile(dir.path(), "go.sum", "");
  auto setup = DetectSetup(dir.path());
  ASSERT_EQ(setup.commands.size(), 4u);
  EXPECT_EQ(setup.commands[0], "npm ci --no-audit --no-fund");
  EXPECT_NE(setup.commands[1].find("-m pip install --disable-pip-version-check --no-input "
                                   "--target \"$DROVER_DEPS/python\" -r requirements-dev.txt"),
            std::string::npos)
      << setup.commands[1];
  EXPECT_NE(setup.commands[2].find("optional-dependencies"), std::string::npos);
  EXPECT_EQ(setup.commands[3], "go mod download");
  EXPECT_EQ(setup.inputs, (std::vector<std::string>{"package-lock.json", "requirements-dev.txt",
                                                    "pyproject.toml", "go.sum"}));
  EXPECT_EQ(setup.hosts,
            (std::vector<std::string>{"registry.npmjs.org", "pypi.org", "files.pythonhosted.org",
                                      "proxy.golang.org", "sum.golang.org"}));

  TempDir yarn;
  WriteTestFile(yarn.path(), "package.json", "{}");
  WriteTestFile(yarn.path(), "yarn.lock", "");
  EXPECT_EQ(DetectSetup(yarn.path()).commands,
            (std::vector<std::string>{"yarn install --frozen-lockfile --non-interactive"}));
}

TEST(DetectSetup, PyprojectExtrasAreReadByPythonInTheSandbox) {
  TempDir dir;
  WriteTestFile(dir.path(), "pyproject.toml",
                "[project]\nname = \"x\"\ndependencies = [\"attrs\"]\n"
                "[project.optional-dependencies]\ntest = [\"helperlib\"]\ndocs = [\"sphinx\"]\n");
  auto setup = DetectSetup(dir.path());
  ASSERT_EQ(setup.commands.size(), 1u);
  // Run the listing half of the command: it writes the requirements the pip half installs.
  std::string list = setup.commands[0].substr(0, setup.commands[0].find(" && "));
  list.replace(list.find("/tmp/drover-requirements.txt"), 28, (dir / "req.txt").string());
  drover::testing::Sh("cd '" + dir.path().string() + "' && " + list);
  EXPECT_EQ(drover::testing::ReadTestFile(dir / "req.txt"), "attrs\nhelperlib\n");
}

TEST(DetectSetup, EnvironmentPointsEveryToolAtTheDepsDirectory) {
  auto env = SetupEnvironment("/deps", "/usr/bin");
  EXPECT_EQ(env["DROVER_DEPS"], "/deps");
  EXPECT_EQ(env["PYTHONPATH"], "/deps/python");
  EXPECT_EQ(env["PATH"], "/deps/python/bin:/usr/bin");
  EXPECT_EQ(env["npm_config_cache"], "/deps/npm-cache");
  EXPECT_EQ(env["GOMODCACHE"], "/deps/go-mod");
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
