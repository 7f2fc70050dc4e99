#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
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
  // A short secret is masked as a whole word only.
  EXPECT_EQ(out.find("short"), std::string::npos) << out;
  EXPECT_EQ(redactor.Redact("shortcut shorts"), "shortcut shorts");
}

// Base64 as the test writes it, independently of the redactor's own encoder.
std::string TestBase64(std::string_view bytes, bool url_safe) {
  std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  alphabet += url_safe ? "-_" : "+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= uint8_t(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

TEST(Redactor, MasksASecretInEveryEncodedForm) {
  // Not shaped like a known credential, so only the configured value can catch it; its
  // slash, plus, quote, backslash and equals sign make every encoding differ from it.
  const std::string secret = "drv-Key/With+Odd\"Chars\\=0123456789";
  Redactor redactor({secret});
  std::string json = Json(secret).dump();
  std::string json_inner = json.substr(1, json.size() - 2);
  std::string slashed;
  for (char c : json_inner) slashed += c == '/' ? std::string("\\/") : std::string(1, c);
  std::vector<std::string> forms = {secret, json_inner, slashed};
  for (bool lower : {false, true}) {
    std::string pct;
    for (unsigned char c : secret) {
      char buf[4];
      std::snprintf(buf, sizeof buf, lower ? "%%%02x" : "%%%02X", c);
      pct += std::isalnum(c) || c == '-' ? std::string(1, static_cast<char>(c)) : buf;
    }
    forms.push_back(pct);
  }
  // Base64 inside a longer value at each alignment: HTTP Basic credentials, a token blob.
  for (bool url_safe : {false, true}) {
    for (std::string prefix : {"", "x", "u:"}) {
      forms.push_back(TestBase64(prefix + secret + "@host", url_safe));
    }
  }
  for (const auto& form : forms) {
    SCOPED_TRACE(form);
    std::string text = "Incorrect API key provided: " + form + " (see docs)";
    std::string out = redactor.Redact(text);
    EXPECT_NE(out, text);
    EXPECT_NE(out.find("[REDACTED]"), std::string::npos) << out;
    EXPECT_EQ(out.find("0123456789"), std::string::npos) << out;
    EXPECT_TRUE(redactor.Contains(text));
    EXPECT_FALSE(redactor.Contains(out)) << out;
    EXPECT_NE(out.find("Incorrect API key provided: "), std::string::npos);
    EXPECT_NE(out.find(" (see docs)"), std::string::npos);
  }
  // Masked JSON stays JSON.
  Json body = {{"error", {{"message", "bad key " + secret}}}};
  auto parsed = ParseJson(redactor.Redact(body.dump()), "masked");
  ASSERT_OK(parsed);
  EXPECT_EQ((*parsed)["error"]["message"], "bad key [REDACTED]");
}

TEST(Redactor, ShortSecretsOnlyAsWholeWordsAndTinyOnesNotAtAll) {
  Redactor redactor({"pa55", "abc"});
  EXPECT_EQ(redactor.Redact("password: pa55."), "password: [REDACTED].");
  EXPECT_EQ(redactor.Redact("spa55 pa55x"), "spa55 pa55x");
  EXPECT_EQ(redactor.Redact("abc def"), "abc def");
  EXPECT_FALSE(redactor.Contains("abcdef pa55word"));
  EXPECT_TRUE(redactor.Contains("(pa55)"));
}

TEST(Redactor, SecretsFromEnvironmentTakesCredentialNamesOnly) {
  auto secrets = SecretsFromEnvironment({{"OPENAI_API_KEY", "k1-value"},
                                         {"GITHUB_TOKEN", "t1-value"},
                                         {"AWS_SECRET_ACCESS_KEY", "s1-value"},
                                         {"DB_PASSWORD", "p1-value"},
                                         {"EMPTY_TOKEN", ""},
                                         {"PATH", "/usr/bin"},
                                         {"HOME", "/root"}});
  std::sort(secrets.begin(), secrets.end());
  EXPECT_EQ(secrets, (std::vector<std::string>{"k1-value", "p1-value", "s1-value", "t1-value"}));
}

// A token set from a secret file read as it is ends in a newline: the one reader drops the
// trailing whitespace (and only that), and the redactor knows the value that is sent.
TEST(Credentials, TrailingWhitespaceIsTrimmedOnce) {
  std::map<std::string, std::string> env = {{"BACKSTAGE_TOKEN", "bs-token\n"},
                                            {"GITHUB_TOKEN", "gh token \t\r\n"},
                                            {"OPENAI_API_KEY", " lead"},
                                            {"BLANK_TOKEN", "\n"}};
  EXPECT_EQ(ReadCredential(env, "BACKSTAGE_TOKEN"), "bs-token");
  EXPECT_EQ(ReadCredential(env, "GITHUB_TOKEN"), "gh token");
  EXPECT_EQ(ReadCredential(env, "OPENAI_API_KEY"), " lead");
  EXPECT_EQ(ReadCredential(env, "BLANK_TOKEN"), "");
  EXPECT_EQ(ReadCredential(env, "UNSET_TOKEN"), "");
  auto secrets = SecretsFromEnvironment(env);
  std::sort(secrets.begin(), secrets.end());
  EXPECT_EQ(secrets, (std::vector<std::string>{" lead", "bs-token", "gh token"}));
}

TEST(Log, EveryLineIsMaskedThroughTheLogRedactor) {
  drover::testing::TempDir dir;
  const std::string secret = "log-secret/0123456789";
  ASSERT_OK(SetUpLogging(LogLevel::kError, dir.path() / "run.log"));
  SetLogRedactor(Redactor({secret}));
  spdlog::warn("upstream said: bad key {} and {}", secret, "drv%2Fsafe");
  spdlog::warn("percent form: log-secret%2F0123456789");
  spdlog::default_logger()->flush();
  SetLogRedactor(Redactor());
  std::string log = drover::testing::ReadTestFile(dir.path() / "run.log");
  EXPECT_EQ(log.find("0123456789"), std::string::npos) << log;
  EXPECT_NE(log.find("upstream said: bad key [REDACTED] and drv%2Fsafe"), std::string::npos) << log;
  EXPECT_NE(log.find("percent form: [REDACTED]"), std::string::npos) << log;
  ASSERT_OK(SetUpLogging(LogLevel::kWarn, std::nullopt));
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
