// The detected set-up, run as the runner runs it: in a sandbox over the workspace, the deps
// directory its only other writable place, egress only through the allow-listing proxy to a
// loopback registry or index standing in for a mirror (npm: a tarball the lock file names;
// Python: pyproject.toml's test extras from a simple index).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/http_server.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"
#include "tests/testing/testing.h"
#include "verifiers/detect.h"

namespace drover::verifiers {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

TEST(SetupNpm, NpmCiInstallsADevDependencyFromTheLockFileThroughTheProxy) {
  TempDir root;
  auto package_dir = root / "pkg";
  WriteTestFile(package_dir, "package/package.json",
                R"({"name":"tinydep","version":"1.0.0","bin":{"tinydep":"bin.js"}})");
  WriteTestFile(package_dir, "package/bin.js", "#!/usr/bin/env node\nconsole.log('tinydep ok');\n");
  Sh("cd '" + package_dir.string() + "' && tar czf ../tinydep-1.0.0.tgz package");
  std::string tarball = ReadTestFile(root / "tinydep-1.0.0.tgz");
  std::string integrity = "sha512-" + Sh("openssl dgst -sha512 -binary '" +
                                         (root / "tinydep-1.0.0.tgz").string() + "' | base64 -w0");
  int tarball_requests = 0;
  HttpServer registry([&](const HttpRequest& request) {
    HttpResponse response;
    if (request.url == "/tinydep/-/tinydep-1.0.0.tgz") {
      ++tarball_requests;
      response.status = 200;
      response.headers["content-type"] = "application/octet-stream";
      response.body = tarball;
    } else {
      response.status = 404;
      response.body = "{}";
    }
    return response;
  });
  ASSERT_TRUE(registry.ListenTcp().has_value());
  // The sandbox sends "localhost" past the proxy (NO_PROXY): the mirror is named by this
  // machine's host name, which resolves to the registry's loopback address here.
  std::string host = Sh("hostname");
  while (!host.empty() && (host.back() == '\n' || host.back() == ' ')) host.pop_back();
  if (host.empty() || !Sh("getent ahostsv4 '" + host + "'").starts_with("127.0.0.1 ")) {
    GTEST_SKIP() << "the host name does not resolve to 127.0.0.1 here";
  }
  std::string base = "http://" + host + ":" + std::to_string(registry.port()) + "/";

  auto workspace = root / "app";
  WriteTestFile(workspace, "package.json",
                R"({"name":"app","version":"1.0.0","devDependencies":{"tinydep":"1.0.0"},)"
                R"("scripts":{"test":"tinydep"}})");
  WriteTestFile(workspace, "package-lock.json",
                R"({"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,)"
                R"("packages":{"":{"name":"app","version":"1.0.0",)"
                R"("devDependencies":{"tinydep":"1.0.0"}},"node_modules/tinydep":{)"
                R"("version":"1.0.0","resolved":")" +
                    base + R"(tinydep/-/tinydep-1.0.0.tgz","integrity":")" + integrity +
                    R"(","dev":true,"bin":{"tinydep":"bin.js"}}}})");
  WriteTestFile(workspace, ".npmrc", "registry=" + base + "\n");
  auto setup = DetectSetup(workspace);
  ASSERT_EQ(setup.commands, (std::vector<std::string>{"npm ci --no-audit --no-fund"}));
  ASSERT_EQ(setup.hosts, (std::vector<std::string>{"registry.npmjs.org"}));

  // A mirror of the registry, as sandbox.setup_hosts names one; the proxy must let that
  // name resolve to loopback here.
  sandbox::EgressProxyOptions options;
  options.socket_path = root / "egress.sock";
  options.allowed_hosts = {host};
  options.allow_private_addresses = true;
  auto proxy = sandbox::EgressProxy::Start(options);
  ASSERT_TRUE(proxy.has_value()) << proxy.error().ToString();

  auto deps = root / "deps";
  std::filesystem::create_directories(deps);
  sandbox::SandboxPolicy policy;
  policy.workspace = workspace;
  policy.writable_paths = {deps};
  policy.proxy_socket = options.socket_path;
  auto env = SetupEnvironment(deps, "/usr/bin:/bin");
  env["HOME"] = "/tmp";
  auto run = [&](const std::string& command) {
    auto runner = sandbox::MakeIsolatedProcessRunner(policy, DROVER_BINARY);
    sandbox::ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", command + " 2>&1"};
    spec.cwd = workspace;
    spec.env = env;
    spec.timeout = std::chrono::seconds(120);
    auto result = runner->Run(spec);
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    return result ? *result : sandbox::ProcessResult{};
  };

  auto before = run("npm test");
  EXPECT_FALSE(before.ok());
  EXPECT_NE(before.output.find("tinydep: not found"), std::string::npos) << before.output;

  auto installed = run(setup.commands[0]);
  ASSERT_TRUE(installed.ok()) << installed.output;
  EXPECT_EQ(tarball_requests, 1);
  EXPECT_GE((*proxy)->allowed_count(), 1);
  EXPECT_TRUE(std::filesystem::exists(deps / "npm-cache"));  // The cache is the job's.

  auto after = run("npm test");
  EXPECT_TRUE(after.ok()) << after.output;
  EXPECT_NE(after.output.find("tinydep ok"), std::string::npos) << after.output;

  // The fresh tree of a final check installs again from the job's cache: no download.
  std::filesystem::remove_all(workspace / "node_modules");
  auto again = run(setup.commands[0] + " --offline");
  EXPECT_TRUE(again.ok()) << again.output;
  EXPECT_EQ(tarball_requests, 1);
}

// pyproject.toml's test extras, from a package index (PIP_INDEX_URL, a mirror) on loopback,
// through the proxy, into the deps directory; the project's tests then import them.
TEST(SetupPython, TestExtrasFromAnIndexThroughTheProxy) {
  TempDir root;
  std::string host = Sh("hostname");
  while (!host.empty() && (host.back() == '\n' || host.back() == ' ')) host.pop_back();
  if (host.empty() || !Sh("getent ahostsv4 '" + host + "'").starts_with("127.0.0.1 ")) {
    GTEST_SKIP() << "the host name does not resolve to 127.0.0.1 here";
  }
  WriteTestFile(root.path(), "make_wheel.py",
                "import zipfile\n"
                "files = {'helperlib/__init__.py': 'def double(x):\\n    return 2 * x\\n',\n"
                "  'helperlib-1.0.dist-info/METADATA': "
                "'Metadata-Version: 2.1\\nName: helperlib\\nVersion: 1.0\\n',\n"
                "  'helperlib-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: t\\n"
                "Root-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
                "record = ''.join(n + ',,\\n' for n in files) + "
                "'helperlib-1.0.dist-info/RECORD,,\\n'\n"
                "with zipfile.ZipFile('helperlib-1.0-py3-none-any.whl', 'w') as z:\n"
                "    for n, t in files.items():\n"
                "        z.writestr(n, t)\n"
                "    z.writestr('helperlib-1.0.dist-info/RECORD', record)\n");
  Sh("cd '" + root.path().string() + "' && python3 make_wheel.py");
  std::string wheel = ReadTestFile(root / "helperlib-1.0-py3-none-any.whl");
  int wheel_requests = 0;
  HttpServer index([&](const HttpRequest& request) {
    HttpResponse response;
    response.status = 200;
    if (request.url == "/simple/helperlib/") {
      response.headers["content-type"] = "text/html";
      response.body =
          "<html><body><a href=\"/files/helperlib-1.0-py3-none-any.whl\">"
          "helperlib-1.0-py3-none-any.whl</a></body></html>";
    } else if (request.url == "/files/helperlib-1.0-py3-none-any.whl") {
      ++wheel_requests;
      response.headers["content-type"] = "application/octet-stream";
      response.body = wheel;
    } else {
      response.status = 404;
    }
    return response;
  });
  ASSERT_TRUE(index.ListenTcp().has_value());

  auto workspace = root / "calc";
  WriteTestFile(workspace, "pyproject.toml",
                "[project]\nname = \"calc\"\nversion = \"1\"\n"
                "[project.optional-dependencies]\ntest = [\"helperlib\"]\n");
  WriteTestFile(workspace, "tests/test_calc.py",
                "import unittest\n\nimport helperlib\n\n\nclass T(unittest.TestCase):\n"
                "    def test_double(self):\n        self.assertEqual(helperlib.double(2), 4)\n");
  auto setup = DetectSetup(workspace);
  ASSERT_EQ(setup.commands.size(), 1u);

  sandbox::EgressProxyOptions options;
  options.socket_path = root / "egress.sock";
  options.allowed_hosts = {host};
  options.allow_private_addresses = true;
  auto proxy = sandbox::EgressProxy::Start(options);
  ASSERT_TRUE(proxy.has_value()) << proxy.error().ToString();
  auto deps = root / "deps";
  std::filesystem::create_directories(deps);
  sandbox::SandboxPolicy policy;
  policy.workspace = workspace;
  policy.writable_paths = {deps};
  policy.proxy_socket = options.socket_path;
  // The interpreter may live under a home directory (pyenv): shown read-only, as the runner does.
  auto parent = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  auto toolchains = sandbox::FindToolchains(parent);
  policy.read_only_paths = toolchains.read_only_paths;
  auto env = SetupEnvironment(deps, parent["PATH"]);
  for (const auto& [name, value] : toolchains.env) env[name] = value;
  env["HOME"] = "/tmp";
  env["PIP_INDEX_URL"] = "http://" + host + ":" + std::to_string(index.port()) + "/simple/";
  env["PIP_TRUSTED_HOST"] = host;  // The test index speaks plain HTTP.
  auto run = [&](const std::string& command) {
    auto runner = sandbox::MakeIsolatedProcessRunner(policy, DROVER_BINARY);
    sandbox::ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", command + " 2>&1"};
    spec.cwd = workspace;
    spec.env = env;
    spec.timeout = std::chrono::seconds(120);
    auto result = runner->Run(spec);
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    return result ? *result : sandbox::ProcessResult{};
  };
  const std::string test = "python3 -m unittest discover -s tests";
  auto before = run(test);
  EXPECT_FALSE(before.ok());
  EXPECT_NE(before.output.find("No module named 'helperlib'"), std::string::npos) << before.output;
  auto installed = run(setup.commands[0]);
  ASSERT_TRUE(installed.ok()) << installed.output;
  EXPECT_EQ(wheel_requests, 1);
  EXPECT_TRUE(std::filesystem::exists(deps / "python/helperlib/__init__.py"));
  EXPECT_FALSE(std::filesystem::exists(deps / "python/calc"));  // Not the project itself.
  auto after = run(test);
  EXPECT_TRUE(after.ok()) << after.output;
}

}  // namespace
}  // namespace drover::verifiers
