// The gateway's build-slot endpoint as the agent uses it: agent::BuildSlotProcessRunner over
// a job's real Unix socket, around a process runner that records what it saw.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "agent/build_slot_runner.h"
#include "gateway/gateway.h"
#include "gateway/slot_pool.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using std::chrono::milliseconds;

// Runs nothing; notes how many slots were in use while it "ran".
class RecordingRunner final : public sandbox::ProcessRunner {
 public:
  explicit RecordingRunner(const SlotPool* slots) : slots_(slots) {}
  Result<sandbox::ProcessResult> Run(const sandbox::ProcessSpec&) override {
    in_use_while_running = slots_ == nullptr ? -1 : slots_->in_use();
    ran = true;
    return sandbox::ProcessResult{};
  }
  const SlotPool* slots_;
  std::atomic<int> in_use_while_running{-1};
  std::atomic<bool> ran{false};
};

class BuildSlotEndpoint : public ::testing::Test {
 protected:
  void Open(SlotPool* slots) {
    GatewayOptions options;
    options.http = http_.get();
    options.upstreams = {UpstreamConfig{agent::Provider::kOpenAiChat, model_.OpenAiBaseUrl(), ""}};
    options.build_slots = slots;
    gateway_ = std::make_unique<Gateway>(options);
    JobConfig job;
    job.job_id = "job-a";
    job.repository = "a";
    job.socket_path = dir_ / "a.sock";
    ASSERT_TRUE(gateway_->OpenJob(job).has_value());
  }

  drover::testing::TempDir dir_;
  testing::ScriptedModelServer model_;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(BuildSlotEndpoint, ACommandHoldsASlotOnlyWhileItRuns) {
  SlotPool slots(1);
  Open(&slots);
  RecordingRunner inner(&slots);
  agent::BuildSlotProcessRunner runner(inner, *http_, (dir_ / "a.sock").string());
  EXPECT_EQ(slots.in_use(), 0);  // Before: an agent talking to the model holds none.
  ASSERT_TRUE(runner.Run(sandbox::ProcessSpec{}).has_value());
  EXPECT_EQ(inner.in_use_while_running, 1);
  EXPECT_EQ(slots.in_use(), 0);
}

TEST_F(BuildSlotEndpoint, ACommandWaitsForAFreeSlot) {
  SlotPool slots(1);
  Open(&slots);
  auto held = slots.Acquire("runner/b", milliseconds(0));  // Another job's check.
  ASSERT_TRUE(held.has_value());
  RecordingRunner inner(&slots);
  agent::BuildSlotProcessRunner runner(inner, *http_, (dir_ / "a.sock").string());
  std::thread agent([&] { (void)runner.Run(sandbox::ProcessSpec{}); });
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(inner.ran);
  slots.Release(*held, "runner/b");
  agent.join();
  EXPECT_TRUE(inner.ran);
  EXPECT_EQ(inner.in_use_while_running, 1);
}

TEST_F(BuildSlotEndpoint, WithoutAPoolCommandsRunAtOnce) {
  Open(nullptr);
  RecordingRunner inner(nullptr);
  agent::BuildSlotProcessRunner runner(inner, *http_, (dir_ / "a.sock").string());
  ASSERT_TRUE(runner.Run(sandbox::ProcessSpec{}).has_value());
  EXPECT_TRUE(inner.ran);
  // And with no gateway at all (an agent started by hand).
  RecordingRunner alone(nullptr);
  agent::BuildSlotProcessRunner unreachable(alone, *http_, (dir_ / "none.sock").string());
  ASSERT_TRUE(unreachable.Run(sandbox::ProcessSpec{}).has_value());
  EXPECT_TRUE(alone.ran);
}

TEST_F(BuildSlotEndpoint, ALeaseIsReturnedOnlyByItsJob) {
  SlotPool slots(2);
  Open(&slots);
  auto other = slots.Acquire("job-b", milliseconds(0));
  ASSERT_TRUE(other.has_value());
  HttpRequest request;
  request.method = "POST";
  request.url = "http://gateway/drover/build-slot/release";
  request.body = Json{{"lease", *other}}.dump();
  request.unix_socket = (dir_ / "a.sock").string();
  auto response = http_->Send(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(Json::parse(response->body)["released"], false);
  EXPECT_EQ(slots.in_use(), 1);
  request.body = "{\"lease\": \"x\"}";
  response = http_->Send(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
}

TEST_F(BuildSlotEndpoint, AJobHoldsOneSlotAtATimeForAtMostItsMaximum) {
  SlotPool slots(2);
  GatewayOptions options;
  options.http = http_.get();
  options.upstreams = {UpstreamConfig{agent::Provider::kOpenAiChat, model_.OpenAiBaseUrl(), ""}};
  options.build_slots = &slots;
  gateway_ = std::make_unique<Gateway>(options);
  JobConfig job;
  job.job_id = "job-a";
  job.repository = "a";
  job.socket_path = dir_ / "a.sock";
  job.build_slot_max_hold = std::chrono::seconds(1);
  ASSERT_TRUE(gateway_->OpenJob(job).has_value());
  HttpRequest acquire;
  acquire.method = "POST";
  acquire.url = "http://gateway/drover/build-slot/acquire";
  acquire.unix_socket = (dir_ / "a.sock").string();
  auto first = http_->Send(acquire);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->status, 200);
  ASSERT_TRUE(Json::parse(first->body)["lease"].is_number_integer());
  // With two slots, the second ask is refused: the other slot stays for the other job.
  auto second = http_->Send(acquire);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 409);
  EXPECT_NE(second->body.find("already holds a build slot"), std::string::npos) << second->body;
  EXPECT_EQ(slots.HeldBy("job-a"), 1);
  // The other job's check gets the second slot at once, and the first one when job-a's lease
  // runs out, though job-a never releases it.
  auto other = slots.Acquire("job-b", milliseconds(0));
  ASSERT_TRUE(other.has_value());
  auto started = std::chrono::steady_clock::now();
  auto reclaimed = slots.Acquire("runner/b", std::chrono::seconds(10));
  ASSERT_TRUE(reclaimed.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(slots.HeldBy("job-a"), 0);
}

}  // namespace
}  // namespace drover::fleet
