#include "sandbox/probe.h"

#include <gtest/gtest.h>

#include "sandbox/helper.h"

namespace drover::sandbox {
namespace {

TEST(SandboxIdHolder, NamesTheAccountGroupOrSubordinateRangeHoldingTheId) {
  constexpr uint32_t kId = 2000000000;
  const std::string passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:\n";
  const std::string group = "root:x:0:\n# a comment\nbroken-line\n";
  // useradd's default ranges stay well below the sandbox's id.
  const std::string subuid = "alice:100000:65536\n";
  EXPECT_EQ(SandboxIdHolder(kId, passwd, group, subuid, subuid), "");
  EXPECT_EQ(SandboxIdHolder(kSandboxHostId, passwd, group, subuid, subuid), "");
  EXPECT_EQ(SandboxIdHolder(kId, passwd + "svc:x:2000000000:5::/:/bin/false\n", group, "", ""),
            "/etc/passwd: user svc");
  EXPECT_EQ(SandboxIdHolder(kId, passwd, group + "builders:x:2000000000:\n", "", ""),
            "/etc/group: group builders");
  EXPECT_EQ(SandboxIdHolder(kId, passwd, group, subuid + "bob:1999990000:65536\n", ""),
            "/etc/subuid: bob's range 1999990000-2000055535");
  EXPECT_EQ(SandboxIdHolder(kId, passwd, group, "", "carol:2000000000:1\n"),
            "/etc/subgid: carol's range 2000000000-2000000000");
  EXPECT_EQ(SandboxIdHolder(kId, passwd, group, "dave:1999999999:1\n", ""), "");
}

}  // namespace
}  // namespace drover::sandbox
