// The command line as a person meets it: the help and the usage errors list every entry of
// the subcommand table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/command.h"
#include "sandbox/process.h"

namespace drover::e2e {
namespace {

sandbox::ProcessResult RunDrover(const std::vector<std::string>& args) {
  sandbox::ProcessSpec spec;
  spec.argv = {DROVER_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  spec.timeout = std::chrono::seconds(30);
  auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
  EXPECT_TRUE(result.has_value()) << result.error().ToString();
  return result ? *result : sandbox::ProcessResult{};
}

// Every table entry, as a line of its own starting with the name.
void ExpectEveryCommandListed(const std::string& output) {
  ASSERT_FALSE(cli::Commands().empty());
  for (const auto& command : cli::Commands()) {
    std::string name(command.name);
    EXPECT_NE(output.find("\n  " + name + " "), std::string::npos) << name << "\n" << output;
    // The help line's first words (CLI11 may wrap the rest).
    std::string help(command.help.substr(0, command.help.find(' ', 12)));
    EXPECT_NE(output.find(help), std::string::npos) << help << "\n" << output;
  }
  EXPECT_EQ(output.find("__sandbox"), std::string::npos) << output;
}

TEST(Cli, HelpListsEveryCommandOfTheTable) {
  auto result = RunDrover({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  ExpectEveryCommandListed(result.output);
}

TEST(Cli, NoCommandIsAUsageErrorListingTheCommands) {
  auto result = RunDrover({});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  ExpectEveryCommandListed(result.output);
}

TEST(Cli, UnknownCommandListsTheCommands) {
  auto result = RunDrover({"bogus"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown command \"bogus\""), std::string::npos) << result.output;
  ExpectEveryCommandListed(result.output);
}

// Each entry parses its own options: its help names the command and exits 0.
TEST(Cli, EveryCommandHasItsOwnHelp) {
  for (const auto& command : cli::Commands()) {
    auto result = RunDrover({std::string(command.name), "--help"});
    EXPECT_EQ(result.exit_code, 0) << command.name << "\n" << result.output;
    EXPECT_NE(result.output.find(std::string(command.name)), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace drover::e2e
