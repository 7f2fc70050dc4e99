#include "forge/fork.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

constexpr char kTarget[] = "git@forge.example.com:acme/platform/widgets.git";
constexpr char kTargetPath[] = "acme/platform/widgets";

// A forge that keeps repositories in a map and records the calls the flow makes.
class MapForkApi : public ForkApi {
 public:
  std::string user = "drover-bot";
  std::map<std::string, ForgeRepository> repositories;
  std::vector<std::string> calls;

  Result<std::string> TokenUser() override {
    calls.push_back("user");
    return user;
  }
  Result<ForgeRepository> Repository(const std::string& path) override {
    calls.push_back("get " + path);
    auto it = repositories.find(path);
    if (it == repositories.end()) return Fail(ErrorCode::kNotFound, path + ": 404 Not Found");
    return it->second;
  }
  Result<ForgeRepository> CreateFork(const std::string& target_path, const std::string& owner,
                                     bool owner_is_token_user) override {
    calls.push_back("fork " + target_path + " into " + owner +
                    (owner_is_token_user ? " (user)" : " (organisation)"));
    ForgeRepository fork{owner + "/widgets-1", target_path, 7, 1};
    repositories[fork.path] = fork;
    return fork;
  }
};

TEST(ForkFinder, MakesAMissingForkInTheTokenUsersNamespaceAndRemembersIt) {
  MapForkApi api;
  ForkFinder finder(ForkOptions{.forge = "GitLab"});
  auto fork = finder.Ensure(api, kTarget, kTargetPath);
  ASSERT_OK(fork);
  // The forge renamed the fork on a clash: its own path is where the branch goes.
  EXPECT_EQ(fork->path, "drover-bot/widgets-1");
  EXPECT_EQ(fork->owner, "drover-bot");
  EXPECT_EQ(fork->push_location, "git@forge.example.com:drover-bot/widgets-1.git");
  EXPECT_EQ(fork->id, 7);
  EXPECT_EQ(fork->target_id, 1);
  EXPECT_EQ(api.calls, (std::vector<std::string>{
                           "user", "get drover-bot/widgets",
                           "fork acme/platform/widgets into drover-bot (user)"}));

  api.calls.clear();
  auto again = finder.Ensure(api, kTarget, kTargetPath);
  ASSERT_OK(again);
  EXPECT_EQ(again->push_location, fork->push_location);
  EXPECT_TRUE(api.calls.empty());
}

TEST(ForkFinder, FindsAnExistingForkOfAConfiguredNamespace) {
  MapForkApi api;
  api.repositories["Bots/widgets"] = ForgeRepository{"bots/widgets", "ACME/platform/widgets", 9, 1};
  ForkFinder finder(ForkOptions{.forge = "GitLab", .fork_owner = "Bots"});
  auto fork = finder.Ensure(api, kTarget, kTargetPath);
  ASSERT_OK(fork);
  EXPECT_EQ(fork->push_location, "git@forge.example.com:bots/widgets.git");
  // No token user is needed when the namespace is configured.
  EXPECT_EQ(api.calls, std::vector<std::string>{"get Bots/widgets"});
}

TEST(ForkFinder, AskingForTheTokenUserTellsAUsersForkFromAnOrganisations) {
  MapForkApi api;
  ForkFinder own(
      ForkOptions{.forge = "GitHub", .fork_owner = "Drover-Bot", .resolve_token_user = true});
  ASSERT_OK(own.Ensure(api, kTarget, kTargetPath));
  EXPECT_EQ(api.calls.back(), "fork acme/platform/widgets into Drover-Bot (user)");

  ForkFinder org(
      ForkOptions{.forge = "GitHub", .fork_owner = "acme-bots", .resolve_token_user = true});
  ASSERT_OK(org.Ensure(api, kTarget, kTargetPath));
  EXPECT_EQ(api.calls.back(), "fork acme/platform/widgets into acme-bots (organisation)");
}

TEST(ForkFinder, RefusesARepositoryThatIsNotAForkOfTheTarget) {
  MapForkApi api;
  api.repositories["mallory/widgets"] = ForgeRepository{"mallory/widgets", std::nullopt, 40, 0};
  api.repositories["eve/widgets"] = ForgeRepository{"eve/widgets", "other/widgets", 41, 2};
  for (const char* owner : {"mallory", "eve"}) {
    ForkFinder finder(ForkOptions{.forge = "GitLab", .fork_owner = owner});
    auto refused = finder.Ensure(api, kTarget, kTargetPath);
    ASSERT_FALSE(refused) << owner;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().message,
              std::string("the fork of ") + kTarget + ": " + owner +
                  "/widgets exists and is not a fork of acme/platform/widgets; the branch is "
                  "not pushed there");
  }
  // Nothing was made over them.
  for (const std::string& call : api.calls) EXPECT_FALSE(call.starts_with("fork ")) << call;
}

TEST(ForkFinder, RefusesTheTargetsOwnNamespaceAndATokenWithoutAUser) {
  MapForkApi api;
  ForkFinder same(ForkOptions{.forge = "GitLab", .fork_owner = "ACME/platform"});
  auto refused = same.Ensure(api, kTarget, kTargetPath);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("holds the target itself"), std::string::npos);

  api.user = "";
  ForkFinder nameless(ForkOptions{.forge = "GitLab"});
  auto unnamed = nameless.Ensure(api, kTarget, kTargetPath);
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().code, ErrorCode::kProtocol);
  EXPECT_NE(unnamed.error().message.find("GitLab did not name the token's user"),
            std::string::npos);
  EXPECT_TRUE(api.calls.size() == 1 && api.calls[0] == "user");
}

TEST(ForkFinder, TheForgesOwnErrorsCarryTheContext) {
  class Down : public MapForkApi {
   public:
    Result<ForgeRepository> Repository(const std::string& path) override {
      return Fail(ErrorCode::kUnavailable, "GitLab GET /projects/" + path + ": 502 Bad Gateway");
    }
  } api;
  ForkFinder finder(ForkOptions{.forge = "GitLab", .fork_owner = "bots"});
  auto failed = finder.Ensure(api, kTarget, kTargetPath);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(failed.error().message.starts_with(std::string("the fork of ") + kTarget + ": "))
      << failed.error().message;
}

}  // namespace
}  // namespace drover::fleet
