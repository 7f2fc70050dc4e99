#include <sys/stat.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/redact.h"
#include "tests/testing/testing.h"

namespace drover {
namespace {

TEST(Error, RetryableClassification) {
  EXPECT_TRUE(IsRetryable(ErrorCode::kUnavailable));
  EXPECT_TRUE(IsRetryable(ErrorCode::kRateLimited));
  EXPECT_TRUE(IsRetryable(ErrorCode::kTimeout));
  EXPECT_FALSE(IsRetryable(ErrorCode::kInvalidArgument));
  EXPECT_FALSE(IsRetryable(ErrorCode::kBudgetExhausted));
  EXPECT_FALSE(IsRetryable(ErrorCode::kProtocol));
  Error e = WithContext(Error{ErrorCode::kIo, "disk full", std::nullopt}, "writing x");
  EXPECT_EQ(e.ToString(), "io: writing x: disk full");
}

TEST(Json, ParseErrorNamesTheSource) {
  auto bad = ParseJson("{\"a\": ", "task.json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  EXPECT_NE(bad.error().message.find("task.json"), std::string::npos);
  auto good = ParseJson("{\"a\": 1}", "x");
  ASSERT_OK(good);
  EXPECT_EQ((*good)["a"], 1);
}

TEST(Redactor, MasksKnownSecretsAndCredentialShapes) {
  Redactor redactor({"hunter2-very-secret", "short"});
  std::string text =
      "key=hunter2-very-secret auth: Bearer abcdefghijklmnop sk-proj-ABCDEFGHIJKLMNOPQRST "
      "ghp_0123456789abcdefghij short";
  std::string out = redactor.Redact(text);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find("abcdefghijklmnop"), std::string::npos) << out;
  EXPECT_EQ(out.find("sk-proj"), std::string::npos) << out;
  EXPECT_EQ(out.find("ghp_0123"), std::string::npos) << out;
  EXPECT_NE(out.find("Bearer [REDACTED]"), std::string::npos) << out;
  // Values too short to be a credential are left alone: masking them would garble text.
  EXPECT_NE(out.find("short"), std::string::npos);
}

TEST(Redactor, LeavesOrdinaryTextAlone) {
  Redactor redactor;
  std::string text = "task-list: ask-me sk-short def skip_tests()";
  EXPECT_EQ(redactor.Redact(text), text);
}

TEST(Fs, WriteReadAppendAndMissingFile) {
  drover::testing::TempDir dir;
  auto path = dir.path() / "a.txt";
  ASSERT_OK(WriteFileAtomic(path, "one\n"));
  ASSERT_OK(AppendFile(path, "two\n"));
  auto text = ReadFile(path);
  ASSERT_OK(text);
  EXPECT_EQ(*text, "one\ntwo\n");
  auto missing = ReadFile(dir.path() / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST(Fs, ReadRegularFileRefusesLinksFifosAndLargeFiles) {
  drover::testing::TempDir dir;
  ASSERT_OK(WriteFileAtomic(dir.path() / "secret", "key\n"));
  ASSERT_OK(WriteFileAtomic(dir.path() / "result.json", "{}\n"));
  auto ok = ReadRegularFile(dir.path() / "result.json", 100);
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, "{}\n");
  std::filesystem::create_symlink(dir.path() / "secret", dir.path() / "link.json");
  auto link = ReadRegularFile(dir.path() / "link.json", 100);
  ASSERT_FALSE(link.has_value());
  EXPECT_EQ(link.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(link.error().message.find("symbolic link"), std::string::npos);
  ASSERT_EQ(mkfifo((dir.path() / "fifo.json").c_str(), 0600), 0);
  auto fifo = ReadRegularFile(dir.path() / "fifo.json", 100);  // Must not block.
  ASSERT_FALSE(fifo.has_value());
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
  auto large = ReadRegularFile(dir.path() / "secret", 2);
  ASSERT_FALSE(large.has_value());
  EXPECT_NE(large.error().message.find("larger than 2 bytes"), std::string::npos);
}

}  // namespace
}  // namespace drover
