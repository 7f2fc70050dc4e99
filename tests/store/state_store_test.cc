#include "store/state_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "store/memory_state_store.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

namespace fs = std::filesystem;
using drover::testing::TempDir;
using Outcome = PublicationClaim::Outcome;

StoreTime At(int64_t seconds) {
  return StoreTime(std::chrono::seconds(seconds));
}

std::unique_ptr<StateStore> Open(const fs::path& db) {
  auto store = OpenSqliteStateStore(db);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

// Reads one integer with the plain SQLite API, as a second, independent reader.
int64_t QueryInt(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sql;
  int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close_v2(raw);
  return value;
}

std::string QueryText(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sql;
  std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close_v2(raw);
  return value;
}

enum class Backend { kSqlite, kMemory };

// A store with run-1 created, on one backend. The contract tests run on both; the tests of
// what only a database file has (schema, WAL, locks, crashes) on SQLite alone.
class StoreTestBase : public ::testing::Test {
 protected:
  explicit StoreTestBase(Backend backend) : backend_(backend) {}

  void SetUp() override {
    store_ = Reopen();
    ASSERT_NE(store_, nullptr);
    ASSERT_OK(store_->CreateRun("run-1", "py312", "hash-a", At(1000)));
  }

  // Another connection to the same state (for SQLite, the file; in memory, the shared state).
  std::unique_ptr<StateStore> Reopen() {
    if (backend_ == Backend::kSqlite) return Open(db_);
    return memory_.Share();
  }

  // What error messages name as the store's location.
  std::string Location() const { return backend_ == Backend::kSqlite ? db_.string() : "memory"; }

  int64_t AddJob(const std::string& repository) {
    auto id = store_->UpsertJob("run-1", repository, "https://git.example/" + repository);
    EXPECT_TRUE(id.has_value()) << id.error().ToString();
    return id.value_or(0);
  }

  Backend backend_;
  TempDir dir_;
  fs::path db_ = dir_ / "state.db";
  MemoryStateStore memory_;
  std::unique_ptr<StateStore> store_;
};

class StateStoreTest : public StoreTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  StateStoreTest() : StoreTestBase(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(Backends, StateStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMemory),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param == Backend::kSqlite ? "Sqlite" : "Memory";
                         });

class SqliteStateStoreTest : public StoreTestBase {
 protected:
  SqliteStateStoreTest() : StoreTestBase(Backend::kSqlite) {}
};

TEST_P(StateStoreTest, RunsAreCreatedOnceAndRefusedWithAnotherSpec) {
  ASSERT_OK(store_->CreateRun("run-1", "py312", "hash-a", At(2000)));  // A resume.
  auto changed = store_->CreateRun("run-1", "py312", "hash-b", At(2000));
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(changed.error().message.find(Location()), std::string::npos)
      << changed.error().message;
  ASSERT_OK(store_->CreateRun("run-0", "py311", "hash-c", At(500)));

  auto run = store_->GetRun("run-1");
  ASSERT_OK(run);
  EXPECT_EQ(run->migration_id, "py312");
  EXPECT_EQ(run->spec_hash, "hash-a");
  EXPECT_EQ(run->created_at, At(1000));
  EXPECT_EQ(run->control, RunControl::kRunning);
  auto runs = store_->ListRuns();
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run_id, "run-0");
  EXPECT_EQ(store_->GetRun("nope").error().code, ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, RunControlMovesAndCancelIsFinal) {
  ASSERT_OK(store_->SetRunControl("run-1", RunControl::kPaused));
  EXPECT_EQ(store_->GetRunControl("run-1").value(), RunControl::kPaused);
  ASSERT_OK(store_->SetRunControl("run-1", RunControl::kRunning));
  ASSERT_OK(store_->SetRunControl("run-1", RunControl::kCancelled));
  auto back = store_->SetRunControl("run-1", RunControl::kRunning);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->GetRunControl("run-1").value(), RunControl::kCancelled);
  EXPECT_EQ(store_->SetRunControl("nope", RunControl::kPaused).error().code, ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, UpsertJobKeepsItsIdAndState) {
  int64_t id = AddJob("shop");
  ASSERT_OK(store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(1001)));
  auto again = store_->UpsertJob("run-1", "shop", "/moved/shop");
  ASSERT_OK(again);
  EXPECT_EQ(*again, id);
  auto job = store_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->location, "/moved/shop");
  EXPECT_EQ(store_->UpsertJob("nope", "shop", "x").error().code, ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, AdvanceJobWritesTheRowAndTheStepLog) {
  int64_t id = AddJob("shop");
  auto fresh = store_->GetJob(id);
  ASSERT_OK(fresh);
  EXPECT_EQ(fresh->state, JobState::kPending);
  EXPECT_FALSE(fresh->started_at.has_value());

  ASSERT_OK(store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(1010)));
  ASSERT_OK(
      store_->AdvanceJob(id, "baseline", JobState::kRunning, "", R"({"green":true})", At(1020)));
  ASSERT_OK(store_->AdvanceJob(id, "agent", JobState::kFailed, "final check failed: 2 errors",
                               R"({"attempt":3})", At(1090)));

  auto job = store_->GetJob(id);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->step, "agent");
  EXPECT_EQ(job->reason, "final check failed: 2 errors");
  EXPECT_EQ(job->details_json, R"({"attempt":3})");
  EXPECT_EQ(job->started_at, At(1010));
  EXPECT_EQ(job->updated_at, At(1090));
  EXPECT_EQ(job->finished_at, At(1090));

  auto steps = store_->ListSteps(id);
  ASSERT_OK(steps);
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].seq, 1);
  EXPECT_EQ((*steps)[0].step, "prepared");
  EXPECT_EQ((*steps)[1].details_json, R"({"green":true})");
  EXPECT_EQ((*steps)[2].seq, 3);
  EXPECT_EQ((*steps)[2].state, JobState::kFailed);
  EXPECT_EQ((*steps)[2].at, At(1090));

  // Terminal: never advanced again, and the log is unchanged.
  auto rerun = store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(2000));
  ASSERT_FALSE(rerun.has_value());
  EXPECT_EQ(rerun.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(rerun.error().message.find("already failed"), std::string::npos)
      << rerun.error().message;
  EXPECT_EQ(store_->ListSteps(id)->size(), 3u);

  EXPECT_EQ(
      store_->AdvanceJob(id + 100, "prepared", JobState::kRunning, "", "", At(1)).error().code,
      ErrorCode::kNotFound);
  int64_t other = AddJob("cart");
  EXPECT_EQ(store_->AdvanceJob(other, "prepared", JobState::kPending, "", "", At(1)).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_P(StateStoreTest, RetryPutsFailedJobsBackAndForgetsTheirModelSteps) {
  int64_t failed = AddJob("failed");
  int64_t published = AddJob("published");
  ASSERT_OK(store_->AdvanceJob(failed, "agent", JobState::kRunning, "", "", At(1010)));
  ASSERT_OK(store_->RecordModelStep(failed, 0, "exchange-0", "{}"));
  ASSERT_OK(store_->AdvanceJob(failed, "verifying", JobState::kFailed, "final check failed", "",
                               At(1020)));
  ASSERT_OK(store_->AdvanceJob(published, "published", JobState::kPublished, "", "", At(1030)));
  EXPECT_FALSE(store_->RetryJobs("run-1", JobState::kPublished, At(1040)).has_value());
  auto retried = store_->RetryJobs("run-1", JobState::kFailed, At(1040));
  ASSERT_OK(retried);
  ASSERT_EQ(retried->size(), 1u);
  EXPECT_EQ((*retried)[0].repository, "failed");
  auto job = store_->GetJob(failed);
  ASSERT_OK(job);
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_TRUE(job->reason.empty());
  EXPECT_FALSE(job->finished_at.has_value());
  auto step = store_->FindModelStep(failed, 0, "exchange-0");
  ASSERT_OK(step);
  EXPECT_FALSE(step->has_value());
  auto steps = store_->ListSteps(failed);
  ASSERT_OK(steps);
  EXPECT_EQ(steps->back().reason, "retry requested");
  // It can run and finish again; the published job was left alone.
  ASSERT_OK(store_->AdvanceJob(failed, "published", JobState::kPublished, "", "", At(1050)));
  EXPECT_EQ(store_->GetJob(published)->finished_at, At(1030));
}

TEST_P(StateStoreTest, StatusQueriesCountSlowestAndFailed) {
  int64_t a = AddJob("a");
  int64_t b = AddJob("b");
  int64_t c = AddJob("c");
  int64_t d = AddJob("d");
  AddJob("e");  // Never started.
  ASSERT_OK(store_->AdvanceJob(a, "prepared", JobState::kRunning, "", "", At(100)));
  ASSERT_OK(store_->AdvanceJob(a, "published", JobState::kPublished, "", "", At(110)));
  ASSERT_OK(store_->AdvanceJob(b, "prepared", JobState::kRunning, "", "", At(100)));
  ASSERT_OK(store_->AdvanceJob(b, "agent", JobState::kFailed, "agent: model_error", "", At(400)));
  ASSERT_OK(store_->AdvanceJob(c, "prepared", JobState::kRunning, "", "", At(100)));
  ASSERT_OK(store_->AdvanceJob(c, "baseline", JobState::kSkipped, "baseline red", "", At(130)));
  ASSERT_OK(store_->AdvanceJob(d, "agent", JobState::kRunning, "", "", At(200)));

  auto counts = store_->CountJobs("run-1");
  ASSERT_OK(counts);
  std::map<JobState, int64_t> expected = {{JobState::kPending, 1},
                                          {JobState::kRunning, 1},
                                          {JobState::kPublished, 1},
                                          {JobState::kFailed, 1},
                                          {JobState::kSkipped, 1}};
  EXPECT_EQ(*counts, expected);

  // d is still running: it counts until `now` (1000), so it is the slowest.
  auto slowest = store_->SlowestJobs("run-1", 3, At(1000));
  ASSERT_OK(slowest);
  ASSERT_EQ(slowest->size(), 3u);
  EXPECT_EQ((*slowest)[0].job.repository, "d");
  EXPECT_EQ((*slowest)[0].elapsed, std::chrono::seconds(800));
  EXPECT_EQ((*slowest)[1].job.repository, "b");
  EXPECT_EQ((*slowest)[1].elapsed, std::chrono::seconds(300));
  EXPECT_EQ((*slowest)[2].job.repository, "c");

  auto failed = store_->ListJobs("run-1", JobState::kFailed);
  ASSERT_OK(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].repository, "b");
  EXPECT_EQ((*failed)[0].reason, "agent: model_error");
  EXPECT_EQ(store_->ListJobs("run-1", std::nullopt)->size(), 5u);
}

TEST_P(StateStoreTest, ResumeListsUnfinishedJobsAndMarksTheInterrupted) {
  int64_t done = AddJob("done");
  int64_t mid = AddJob("mid");
  int64_t queued = AddJob("queued");
  ASSERT_OK(store_->AdvanceJob(done, "published", JobState::kPublished, "", "", At(10)));
  ASSERT_OK(store_->AdvanceJob(mid, "baseline", JobState::kRunning, "", R"({"k":1})", At(10)));

  auto interrupted = store_->MarkInterrupted("run-1", At(50));
  ASSERT_OK(interrupted);
  ASSERT_EQ(interrupted->size(), 1u);
  EXPECT_EQ((*interrupted)[0].id, mid);
  EXPECT_EQ((*interrupted)[0].state, JobState::kInterrupted);
  EXPECT_EQ((*interrupted)[0].step, "baseline");

  auto resume = store_->JobsToResume("run-1");
  ASSERT_OK(resume);
  ASSERT_EQ(resume->size(), 2u);
  EXPECT_EQ((*resume)[0].id, mid);
  EXPECT_EQ((*resume)[0].step, "baseline");  // Where it resumes from.
  EXPECT_EQ((*resume)[0].state, JobState::kInterrupted);
  EXPECT_EQ((*resume)[1].id, queued);
  EXPECT_EQ((*resume)[1].state, JobState::kPending);

  auto steps = store_->ListSteps(mid);
  ASSERT_OK(steps);
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[1].state, JobState::kInterrupted);
  EXPECT_EQ((*steps)[1].step, "baseline");

  // Resumed: it runs on.
  ASSERT_OK(store_->AdvanceJob(mid, "baseline", JobState::kRunning, "", "", At(60)));
  EXPECT_TRUE(store_->MarkInterrupted("run-1", At(70)).has_value());
  EXPECT_EQ(store_->GetJob(mid)->state, JobState::kInterrupted);
}

TEST_P(StateStoreTest, AttemptsAreRecordedAndRestarted) {
  int64_t id = AddJob("shop");
  ASSERT_OK(store_->BeginAttempt(id, 1, At(100)));
  ASSERT_OK(store_->FinishAttempt(id, 1, "final check failed", At(160)));
  ASSERT_OK(store_->BeginAttempt(id, 2, At(170)));
  ASSERT_OK(store_->BeginAttempt(id, 2, At(300)));  // Resumed: begun again.
  auto attempts = store_->ListAttempts(id);
  ASSERT_OK(attempts);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "final check failed");
  EXPECT_EQ((*attempts)[0].finished_at, At(160));
  EXPECT_EQ((*attempts)[1].started_at, At(300));
  EXPECT_FALSE((*attempts)[1].finished_at.has_value());
  EXPECT_EQ(store_->FinishAttempt(id, 7, "x", At(1)).error().code, ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, ModelStepsAreFoundAgainAndKeepTheFirstResponse) {
  int64_t id = AddJob("shop");
  auto missing = store_->FindModelStep(id, 1, "sha256:aa");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_OK(store_->RecordModelStep(id, 1, "sha256:aa", R"({"text":"first"})"));
  ASSERT_OK(store_->RecordModelStep(id, 1, "sha256:aa", R"({"text":"second"})"));
  auto found = store_->FindModelStep(id, 1, "sha256:aa");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, R"({"text":"first"})");
  EXPECT_FALSE(store_->FindModelStep(id, 2, "sha256:aa")->has_value());

  // Survives reopening, as after a crash.
  store_.reset();
  store_ = Reopen();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->FindModelStep(id, 1, "sha256:aa")->value_or(""), R"({"text":"first"})");
  EXPECT_EQ(store_->RecordModelStep(id + 9, 1, "k", "{}").error().code, ErrorCode::kNotFound);
}

TEST_P(StateStoreTest, PublicationIsClaimedOnceThenRecorded) {
  int64_t id = AddJob("shop");
  auto first = store_->ClaimPublication(id, "drover/py312");
  ASSERT_OK(first);
  EXPECT_EQ(first->outcome, Outcome::kClaimed);
  auto second = store_->ClaimPublication(id, "drover/other");
  ASSERT_OK(second);
  EXPECT_EQ(second->outcome, Outcome::kInProgress);
  EXPECT_EQ(second->head_branch, "drover/py312");
  ASSERT_OK(store_->RecordPublication(id, "https://forge/pr/7", 7));
  auto third = store_->ClaimPublication(id, "drover/py312");
  ASSERT_OK(third);
  EXPECT_EQ(third->outcome, Outcome::kPublished);
  EXPECT_EQ(third->url, "https://forge/pr/7");
  EXPECT_EQ(third->number, 7);
  int64_t other = AddJob("cart");
  EXPECT_EQ(store_->RecordPublication(other, "u", 1).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(StateStoreTest, PullRequestStatesKeepTheirTransitions) {
  int64_t shop = AddJob("shop");
  int64_t cart = AddJob("cart");
  PullRequestRecord pr;
  pr.job_id = shop;
  pr.forge = "github";
  pr.api_url = "https://ghe.example/api/v3";
  pr.token_env = "GHE_TOKEN";
  pr.location = "https://ghe.example/acme/shop.git";
  pr.base_branch = "main";
  pr.head_branch = "drover/py312";
  pr.head_commit = "abc";
  pr.url = "https://ghe.example/acme/shop/pull/3";
  pr.number = 3;
  pr.updated_at = At(2000);
  EXPECT_EQ(store_->RecordPullRequest(pr).value_or(false), true);
  pr.checks = "pending";
  pr.updated_at = At(2100);
  EXPECT_EQ(store_->RecordPullRequest(pr).value_or(true), false);  // Same state: no transition.
  pr.state = PrState::kMerged;
  pr.checks = "success";
  pr.updated_at = At(2500);
  EXPECT_EQ(store_->RecordPullRequest(pr).value_or(false), true);
  PullRequestRecord other = pr;
  other.job_id = cart;
  other.state = PrState::kOpen;
  other.updated_at = At(2200);
  ASSERT_OK(store_->RecordPullRequest(other));

  auto prs = store_->ListPullRequests("run-1");
  ASSERT_OK(prs);
  ASSERT_EQ(prs->size(), 2u);
  EXPECT_EQ((*prs)[0].repository, "shop");
  EXPECT_EQ((*prs)[0].state, PrState::kMerged);
  EXPECT_EQ((*prs)[0].checks, "success");
  EXPECT_EQ((*prs)[0].token_env, "GHE_TOKEN");
  EXPECT_EQ((*prs)[0].number, 3);
  EXPECT_EQ((*prs)[0].updated_at, At(2500));
  auto transitions = store_->ListPullRequestTransitions("run-1");
  ASSERT_OK(transitions);
  ASSERT_EQ(transitions->size(), 3u);
  EXPECT_EQ((*transitions)[0].repository, "shop");
  EXPECT_EQ((*transitions)[0].state, PrState::kOpen);
  EXPECT_EQ((*transitions)[1].repository, "cart");
  EXPECT_EQ((*transitions)[2].state, PrState::kMerged);
  EXPECT_EQ((*transitions)[2].at, At(2500));
  pr.job_id = 999;
  EXPECT_EQ(store_->RecordPullRequest(pr).error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteStateStoreTest, SchemaIsVersionedAndAnExistingDatabaseReopens) {
  int64_t id = AddJob("shop");
  ASSERT_OK(store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(10)));
  store_.reset();
  EXPECT_EQ(QueryInt(db_, "SELECT max(version) FROM schema_version"), kStateStoreSchemaVersion);
  EXPECT_EQ(QueryText(db_, "PRAGMA journal_mode"), "wal");

  store_ = Open(db_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->GetJob(id)->step, "prepared");
  store_.reset();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM schema_version"), kStateStoreSchemaVersion);

  // A database from a newer drover is refused, not rewritten.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO schema_version (version) VALUES (99)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto newer = OpenSqliteStateStore(db_);
  ASSERT_FALSE(newer.has_value());
  EXPECT_EQ(newer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
  EXPECT_NE(newer.error().message.find(db_.string()), std::string::npos);
}

TEST_F(SqliteStateStoreTest, OpenFailureNamesThePath) {
  auto bad = OpenSqliteStateStore(dir_ / "missing-dir" / "state.db");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
  EXPECT_NE(bad.error().message.find("missing-dir"), std::string::npos) << bad.error().message;
}

TEST_P(StateStoreTest, ControlSetByOneConnectionIsSeenByAnother) {
  auto other = Reopen();  // Like `drover pause` in another process.
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(store_->GetRunControl("run-1").value(), RunControl::kRunning);
  ASSERT_OK(other->SetRunControl("run-1", RunControl::kPaused));
  EXPECT_EQ(store_->GetRunControl("run-1").value(), RunControl::kPaused);
  ASSERT_OK(other->SetRunControl("run-1", RunControl::kCancelled));
  EXPECT_EQ(store_->GetRunControl("run-1").value(), RunControl::kCancelled);
  int64_t id = AddJob("shop");
  ASSERT_OK(store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(1)));
  EXPECT_EQ(other->GetJob(id)->step, "prepared");
}

// Another process holding the write lock makes a step wait, not fail.
TEST_F(SqliteStateStoreTest, WaitsForAnotherWriterInsteadOfFailing) {
  int64_t id = AddJob("shop");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::thread release([raw] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto started = std::chrono::steady_clock::now();
  auto step = store_->AdvanceJob(id, "prepared", JobState::kRunning, "", "", At(1));
  auto waited = std::chrono::steady_clock::now() - started;
  release.join();
  sqlite3_close(raw);
  ASSERT_OK(step);
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_EQ(store_->GetJob(id)->step, "prepared");
}

// Eight threads write at once, half through the shared store and half through stores of
// their own (for SQLite contending on the file lock like processes do); none may see
// SQLITE_BUSY.
TEST_P(StateStoreTest, ConcurrentWritersFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kSteps = 40;
  std::vector<int64_t> ids;
  for (int t = 0; t < kThreads; ++t) ids.push_back(AddJob("repo-" + std::to_string(t)));
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<StateStore> own;
      if (t % 2 == 1) {
        own = Reopen();
        if (!own) {
          errors[static_cast<size_t>(t)] = "could not open a second store";
          ++failures;
          return;
        }
      }
      StateStore& store = own ? *own : *store_;
      for (int i = 0; i < kSteps; ++i) {
        auto step = store.AdvanceJob(ids[static_cast<size_t>(t)], "step-" + std::to_string(i),
                                     JobState::kRunning, "", "", At(i));
        auto model =
            store.RecordModelStep(ids[static_cast<size_t>(t)], 1, "key-" + std::to_string(i), "{}");
        auto control = store.GetRunControl("run-1");
        auto counts = store.CountJobs("run-1");
        for (const Status* status : {&step, &model}) {
          if (!status->has_value()) {
            errors[static_cast<size_t>(t)] = status->error().ToString();
            ++failures;
          }
        }
        if (!control || !counts) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& error : errors) EXPECT_EQ(error, "");
  for (int64_t id : ids) {
    auto steps = store_->ListSteps(id);
    ASSERT_OK(steps);
    ASSERT_EQ(steps->size(), static_cast<size_t>(kSteps));
    for (int i = 0; i < kSteps; ++i) {
      EXPECT_EQ((*steps)[static_cast<size_t>(i)].seq, i + 1);
      EXPECT_EQ((*steps)[static_cast<size_t>(i)].step, "step-" + std::to_string(i));
    }
  }
}

// The child of a crash test: opens the store, then advances jobs round-robin and reports the
// number of each step on `fd` once AdvanceJob (its COMMIT) returned. Never returns.
[[noreturn]] void AdvanceUntilKilled(const fs::path& db, int round, int fd) {
  auto opened = OpenSqliteStateStore(db);
  if (!opened) _exit(2);
  StateStore& store = **opened;
  std::vector<int64_t> ids;
  for (int j = 0; j < 4; ++j) {
    auto id = store.UpsertJob("run-1", "repo-" + std::to_string(j), "/src");
    if (!id) _exit(3);
    ids.push_back(*id);
  }
  for (int32_t n = 0; n < 1000000; ++n) {
    std::string name = std::to_string(round) + ":" + std::to_string(n);
    auto step = store.AdvanceJob(ids[static_cast<size_t>(n % 4)], name, JobState::kRunning, "",
                                 "{\"n\":" + std::to_string(n) + "}", At(n));
    if (!step) _exit(4);
    if (::write(fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) _exit(5);
  }
  _exit(0);
}

std::vector<int32_t> ReadAllNumbers(int fd) {
  std::vector<int32_t> numbers;
  int32_t n = 0;
  while (::read(fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) numbers.push_back(n);
  return numbers;
}

TEST_F(SqliteStateStoreTest, CrashSafetyUnderSigkill) {
  store_.reset();  // The child must not share a connection with its parent.
  std::random_device seed_source;
  unsigned seed = seed_source();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_us(0, 40000);
  size_t total_committed = 0;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      AdvanceUntilKilled(db_, round, fds[1]);
    }
    ::close(fds[1]);
    ::usleep(static_cast<useconds_t>(delay_us(random)));
    ::kill(child, SIGKILL);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
    // Killed, or (rarely) finished on its own; never a failure of its own.
    if (WIFEXITED(wait_status)) {
      ASSERT_EQ(WEXITSTATUS(wait_status), 0);
    }
    std::vector<int32_t> committed = ReadAllNumbers(fds[0]);
    ::close(fds[0]);
    total_committed += committed.size();

    auto reopened = OpenSqliteStateStore(db_);
    ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
    StateStore& store = **reopened;
    EXPECT_EQ(QueryText(db_, "PRAGMA integrity_check"), "ok");

    // Every reported step is there; at most one more (committed, killed before reporting);
    // within the round they run 0, 1, 2, ... without a hole.
    std::set<int32_t> present;
    auto jobs = store.ListJobs("run-1", std::nullopt);
    ASSERT_OK(jobs);
    for (const JobRecord& job : *jobs) {
      auto steps = store.ListSteps(job.id);
      ASSERT_OK(steps);
      for (size_t i = 0; i < steps->size(); ++i) {
        EXPECT_EQ((*steps)[i].seq, static_cast<int64_t>(i + 1));
        const std::string& name = (*steps)[i].step;
        std::string prefix = std::to_string(round) + ":";
        if (name.starts_with(prefix)) {
          int32_t n = std::stoi(name.substr(prefix.size()));
          present.insert(n);
          EXPECT_EQ((*steps)[i].details_json, "{\"n\":" + std::to_string(n) + "}");
        }
      }
      // Nothing half-written: the row and the last log entry agree.
      if (!steps->empty()) {
        EXPECT_EQ(job.step, steps->back().step);
        EXPECT_EQ(job.state, steps->back().state);
        EXPECT_EQ(job.updated_at, steps->back().at);
      }
    }
    for (int32_t n : committed) EXPECT_TRUE(present.contains(n)) << "lost step " << n;
    EXPECT_LE(present.size(), committed.size() + 1);
    if (!present.empty()) {
      EXPECT_EQ(*present.rbegin(), static_cast<int32_t>(present.size()) - 1);
    }
  }
  std::cout << "[ crash    ] " << kRounds << " SIGKILL rounds, " << total_committed
            << " reported commits, all found\n";
  EXPECT_GT(total_committed, 0u);
}

TEST_F(SqliteStateStoreTest, PublicationClaimSurvivesACrash) {
  int64_t id = AddJob("shop");
  store_.reset();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto opened = OpenSqliteStateStore(db_);
    if (!opened) _exit(2);
    auto claim = (*opened)->ClaimPublication(id, "drover/py312");
    if (!claim || claim->outcome != Outcome::kClaimed) _exit(3);
    char ok = 'c';
    if (::write(fds[1], &ok, 1) != 1) _exit(4);
    ::pause();  // "Opening the PR" when the kill comes.
    _exit(0);
  }
  ::close(fds[1]);
  char got = 0;
  ASSERT_EQ(::read(fds[0], &got, 1), 1);
  ::close(fds[0]);
  ::kill(child, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status));

  store_ = Open(db_);
  ASSERT_NE(store_, nullptr);
  auto claim = store_->ClaimPublication(id, "drover/py312");
  ASSERT_OK(claim);
  EXPECT_EQ(claim->outcome, Outcome::kInProgress);  // Ask the forge before opening one.
  EXPECT_EQ(claim->head_branch, "drover/py312");
  ASSERT_OK(store_->RecordPublication(id, "file:///prs/shop.json", 1));
  EXPECT_EQ(store_->ClaimPublication(id, "drover/py312")->outcome, Outcome::kPublished);
}

}  // namespace
}  // namespace drover::fleet
