#include "store/state_store.h"

#include <sqlite3.h>

#include <array>
#include <mutex>
#include <thread>
#include <utility>

namespace drover::fleet {
namespace {

// How long one operation waits for another connection's write lock before it fails with
// kUnavailable: SQLite's busy handler, then our retry of the whole transaction.
constexpr std::chrono::milliseconds kBusyTimeout{10000};

// Forward-only: schema version N is the result of applying kMigrations[0..N-1] in order.
// Released entries are never edited; a change is a new entry.
constexpr std::array<const char*, kStateStoreSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  migration_id TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  control TEXT NOT NULL CHECK (control IN ('running', 'paused', 'cancelled'))
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  repository TEXT NOT NULL,
  location TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'interrupted', 'published',
                                       'failed', 'skipped', 'not_applicable')),
  step TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  details_json TEXT NOT NULL DEFAULT '',
  started_at INTEGER,
  updated_at INTEGER,
  finished_at INTEGER,
  UNIQUE (run_id, repository)
);
CREATE INDEX jobs_by_state ON jobs (run_id, state);
CREATE TABLE job_steps (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  details_json TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
CREATE TABLE attempts (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  number INTEGER NOT NULL CHECK (number >= 1),
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  outcome TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, number)
) WITHOUT ROWID;
CREATE TABLE model_steps (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  attempt INTEGER NOT NULL,
  key TEXT NOT NULL,
  response_json TEXT NOT NULL,
  PRIMARY KEY (job_id, attempt, key)
) WITHOUT ROWID;
CREATE TABLE publications (
  job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
  head_branch TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('publishing', 'published')),
  url TEXT NOT NULL DEFAULT '',
  number INTEGER NOT NULL DEFAULT 0
);
)sql",
    R"sql(
CREATE TABLE pull_requests (
  job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
  forge TEXT NOT NULL,
  api_url TEXT NOT NULL,
  token_env TEXT NOT NULL,
  location TEXT NOT NULL,
  base_branch TEXT NOT NULL,
  head_branch TEXT NOT NULL,
  head_commit TEXT NOT NULL,
  url TEXT NOT NULL,
  number INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'merged', 'closed')),
  checks TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE pull_request_events (
  job_id INTEGER NOT NULL REFERENCES jobs (id),
  seq INTEGER NOT NULL,
  state TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
)sql",
};

constexpr const char* kJobColumns =
    "id, run_id, repository, location, state, step, reason, details_json, started_at, "
    "updated_at, finished_at";

int64_t ToMillis(StoreTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

StoreTime FromMillis(int64_t millis) {
  return StoreTime(
      std::chrono::duration_cast<StoreTime::duration>(std::chrono::milliseconds(millis)));
}

// Busy and locked are kUnavailable: the only code the transaction loop retries.
Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kIo;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
  if (primary == SQLITE_CONSTRAINT) code = ErrorCode::kInvalidArgument;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::string(what) + ": " + detail + " (" + sqlite3_errstr(rc) + ")",
               std::nullopt};
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState state :
       {JobState::kPending, JobState::kRunning, JobState::kInterrupted, JobState::kPublished,
        JobState::kFailed, JobState::kSkipped, JobState::kNotApplicable}) {
    if (JobStateName(state) == name) return state;
  }
  return Fail(ErrorCode::kParse, "unknown job state '" + std::string(name) + "'");
}

Result<PrState> ParsePrState(std::string_view name) {
  for (PrState state : {PrState::kOpen, PrState::kMerged, PrState::kClosed}) {
    if (PrStateName(state) == name) return state;
  }
  return Fail(ErrorCode::kParse, "unknown pull request state '" + std::string(name) + "'");
}

Result<RunControl> ParseRunControl(std::string_view name) {
  for (RunControl control : {RunControl::kRunning, RunControl::kPaused, RunControl::kCancelled}) {
    if (RunControlName(control) == name) return control;
  }
  return Fail(ErrorCode::kParse, "unknown run control '" + std::string(name) + "'");
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement, finalized on destruction. Bind errors are kept and reported by Step.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int index, std::string_view text) {
    // A null pointer would bind SQL NULL; an empty view may carry one.
    Check(sqlite3_bind_text(stmt_, index, text.empty() ? "" : text.data(),
                            static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Bind(int index, int64_t value) {
    Check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Stmt& Bind(int index, StoreTime time) { return Bind(index, ToMillis(time)); }

  // True with a row, false when done.
  Result<bool> Step(std::string_view what) {
    if (bind_rc_ != SQLITE_OK) return Fail(SqliteError(db_, bind_rc_, what));
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Fail(SqliteError(db_, rc, what));
  }
  Status Run(std::string_view what) {
    auto row = Step(what);
    if (!row) return Fail(row.error());
    return {};
  }

  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text == nullptr
               ? std::string()
               : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::optional<StoreTime> Time(int column) const {
    if (IsNull(column)) return std::nullopt;
    return FromMillis(Int(column));
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// One connection guarded by one mutex. SQLite admits one writer per database at a time
// anyway, and the runner writes a few small rows per step of jobs whose steps take seconds to
// minutes, so per-thread connections would buy only contention on the file lock (SQLITE_BUSY
// between our own threads) and connection lifetimes tied to threads. Other processes are
// met with busy_timeout and a retry of the whole transaction.
class SqliteStateStore final : public StateStore {
 public:
  // kDurableWrite commits survive a power loss; kWrite commits survive the process's death.
  enum class Access { kRead, kWrite, kDurableWrite };

  SqliteStateStore(DbHandle db, std::filesystem::path path)
      : db_(std::move(db)), path_(std::move(path)) {}

  // Connection settings, then the schema. Pragmas cannot run inside a transaction, so they
  // get their own retry on busy.
  Status Initialize() {
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), static_cast<int>(kBusyTimeout.count()));
    // WAL: readers (`drover status`, the poller of pause/cancel) never block the writer, and a
    // commit is a single append. synchronous=NORMAL: a commit survives the process being killed
    // (kill -9) without an fsync of its own; only a power loss or kernel crash can lose the last
    // ones. The writes whose loss would cost money or a PR (Access::kDurableWrite: a claim, a
    // publication, a model response, a job's end, the run's control) sync the WAL, and with it
    // every commit before them. One fsync per step serialised a hundred concurrent jobs on the
    // disk; this keeps the fsyncs to a few per job.
    for (const char* pragma :
         {"PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"}) {
      std::string mode;
      auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
      for (;;) {
        auto stmt = Prepare(pragma);
        if (!stmt) return Fail(Context(stmt.error(), "opening"));
        auto row = stmt->Step(pragma);
        if (row) {
          if (*row) mode = stmt->Text(0);
          break;
        }
        if (row.error().code != ErrorCode::kUnavailable ||
            std::chrono::steady_clock::now() >= deadline) {
          return Fail(Context(row.error(), "opening"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (std::string_view(pragma).find("journal_mode") != std::string_view::npos &&
          mode != "wal") {
        return Fail(ErrorCode::kIo, "state store " + path_.string() +
                                        ": opening: the file system does not support WAL "
                                        "(journal mode is '" +
                                        mode + "')");
      }
    }
    return Transact("migrating the schema", Access::kWrite, [&]() -> Status {
      auto created = Exec(
          "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
          "applied_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')))");
      if (!created) return created;
      auto stmt = Prepare("SELECT coalesce(max(version), 0) FROM schema_version");
      if (!stmt) return Fail(stmt.error());
      auto row = stmt->Step("reading the schema version");
      if (!row) return Fail(row.error());
      int64_t version = stmt->Int(0);
      if (version > kStateStoreSchemaVersion) {
        return Fail(ErrorCode::kInvalidArgument,
                    "schema version " + std::to_string(version) + " is newer than this drover's (" +
                        std::to_string(kStateStoreSchemaVersion) + ")");
      }
      for (int64_t next = version + 1; next <= kStateStoreSchemaVersion; ++next) {
        auto applied = Exec(kMigrations[static_cast<size_t>(next - 1)]);
        if (!applied) return applied;
        auto record = Prepare("INSERT INTO schema_version (version) VALUES (?)");
        if (!record) return Fail(record.error());
        auto done = record->Bind(1, next).Run("recording the schema version");
        if (!done) return done;
      }
      return {};
    });
  }

  Status CreateRun(std::string_view run_id, std::string_view migration_id,
                   std::string_view spec_hash, StoreTime created_at) override {
    return Transact("creating run " + std::string(run_id), Access::kWrite, [&]() -> Status {
      auto existing = FindRun(run_id);
      if (!existing) return Fail(existing.error());
      if (*existing) {
        if ((*existing)->migration_id != migration_id || (*existing)->spec_hash != spec_hash) {
          return Fail(ErrorCode::kInvalidArgument,
                      "the run exists with another migration or spec (migration " +
                          (*existing)->migration_id + ", spec hash " + (*existing)->spec_hash +
                          ")");
        }
        return {};
      }
      auto stmt = Prepare(
          "INSERT INTO runs (run_id, migration_id, spec_hash, created_at, control) "
          "VALUES (?, ?, ?, ?, 'running')");
      if (!stmt) return Fail(stmt.error());
      return stmt->Bind(1, run_id)
          .Bind(2, migration_id)
          .Bind(3, spec_hash)
          .Bind(4, created_at)
          .Run("inserting the run");
    });
  }

  Result<RunRecord> GetRun(std::string_view run_id) override {
    RunRecord run;
    auto done = Transact("reading run " + std::string(run_id), Access::kRead, [&]() -> Status {
      auto found = FindRun(run_id);
      if (!found) return Fail(found.error());
      if (!*found) return Fail(ErrorCode::kNotFound, "no such run");
      run = **found;
      return {};
    });
    if (!done) return Fail(done.error());
    return run;
  }

  Result<std::vector<RunRecord>> ListRuns() override {
    std::vector<RunRecord> runs;
    auto done = Transact("listing runs", Access::kRead, [&]() -> Status {
      runs.clear();
      auto stmt = Prepare(
          "SELECT run_id, migration_id, spec_hash, created_at, control FROM runs "
          "ORDER BY created_at, run_id");
      if (!stmt) return Fail(stmt.error());
      for (;;) {
        auto row = stmt->Step("reading runs");
        if (!row) return Fail(row.error());
        if (!*row) return {};
        auto run = ReadRun(*stmt);
        if (!run) return Fail(run.error());
        runs.push_back(std::move(*run));
      }
    });
    if (!done) return Fail(done.error());
    return runs;
  }

  Status SetRunControl(std::string_view run_id, RunControl control) override {
    return Transact(
        "setting run " + std::string(run_id) + " to " + std::string(RunControlName(control)),
        Access::kDurableWrite, [&]() -> Status {
          auto found = FindRun(run_id);
          if (!found) return Fail(found.error());
          if (!*found) return Fail(ErrorCode::kNotFound, "no such run");
          if ((*found)->control == RunControl::kCancelled && control != RunControl::kCancelled) {
            return Fail(ErrorCode::kInvalidArgument, "the run was cancelled");
          }
          auto stmt = Prepare("UPDATE runs SET control = ? WHERE run_id = ?");
          if (!stmt) return Fail(stmt.error());
          return stmt->Bind(1, RunControlName(control)).Bind(2, run_id).Run("updating the run");
        });
  }

  Result<RunControl> GetRunControl(std::string_view run_id) override {
    auto run = GetRun(run_id);
    if (!run) return Fail(run.error());
    return run->control;
  }

  Result<int64_t> UpsertJob(std::string_view run_id, std::string_view repository,
                            std::string_view location) override {
    int64_t id = 0;
    auto done = Transact(
        "adding job " + std::string(repository) + " to run " + std::string(run_id), Access::kWrite,
        [&]() -> Status {
          auto found = FindRun(run_id);
          if (!found) return Fail(found.error());
          if (!*found) return Fail(ErrorCode::kNotFound, "no such run");
          auto stmt = Prepare(
              "INSERT INTO jobs (run_id, repository, location, state) VALUES (?, ?, ?, 'pending') "
              "ON CONFLICT (run_id, repository) DO UPDATE SET location = excluded.location "
              "RETURNING id");
          if (!stmt) return Fail(stmt.error());
          auto row =
              stmt->Bind(1, run_id).Bind(2, repository).Bind(3, location).Step("upserting the job");
          if (!row) return Fail(row.error());
          if (!*row) return Fail(ErrorCode::kInternal, "upsert returned no id");
          id = stmt->Int(0);
          return {};
        });
    if (!done) return Fail(done.error());
    return id;
  }

  Status AdvanceJob(int64_t job_id, std::string_view step, JobState state, std::string_view reason,
                    std::string_view details_json, StoreTime at) override {
    std::string purpose = "advancing job " + std::to_string(job_id) + " to " + std::string(step) +
                          " (" + std::string(JobStateName(state)) + ")";
    if (state == JobState::kPending || state == JobState::kInterrupted) {
      return Fail(ErrorCode::kInvalidArgument,
                  "state store " + path_.string() + ": " + purpose +
                      ": a step cannot move a job back to pending or interrupted");
    }
    Access access = IsTerminal(state) ? Access::kDurableWrite : Access::kWrite;
    return Transact(purpose, access, [&]() -> Status {
      auto current = GetJobLocked(job_id);
      if (!current) return Fail(current.error());
      return AppendStep(*current, step, state, reason, details_json, at);
    });
  }

  Result<JobRecord> GetJob(int64_t job_id) override {
    JobRecord job;
    auto done = Transact("reading job " + std::to_string(job_id), Access::kRead, [&]() -> Status {
      auto found = GetJobLocked(job_id);
      if (!found) return Fail(found.error());
      job = std::move(*found);
      return {};
    });
    if (!done) return Fail(done.error());
    return job;
  }

  Result<std::vector<JobRecord>> ListJobs(std::string_view run_id,
                                          std::optional<JobState> state) override {
    std::vector<JobRecord> jobs;
    auto done =
        Transact("listing the jobs of run " + std::string(run_id), Access::kRead, [&]() -> Status {
          std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE run_id = ?" +
                            (state ? " AND state = ?" : "") + " ORDER BY id";
          auto stmt = Prepare(sql.c_str());
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id);
          if (state) stmt->Bind(2, JobStateName(*state));
          return ReadJobs(*stmt, jobs);
        });
    if (!done) return Fail(done.error());
    return jobs;
  }

  Result<std::vector<StepRecord>> ListSteps(int64_t job_id) override {
    std::vector<StepRecord> steps;
    auto done = Transact(
        "reading the steps of job " + std::to_string(job_id), Access::kRead, [&]() -> Status {
          steps.clear();
          auto stmt = Prepare(
              "SELECT seq, step, state, reason, details_json, at FROM job_steps WHERE job_id = ? "
              "ORDER BY seq");
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, job_id);
          for (;;) {
            auto row = stmt->Step("reading steps");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            auto state = ParseJobState(stmt->Text(2));
            if (!state) return Fail(state.error());
            steps.push_back(StepRecord{stmt->Int(0), stmt->Text(1), *state, stmt->Text(3),
                                       stmt->Text(4), FromMillis(stmt->Int(5))});
          }
        });
    if (!done) return Fail(done.error());
    return steps;
  }

  Result<std::map<JobState, int64_t>> CountJobs(std::string_view run_id) override {
    std::map<JobState, int64_t> counts;
    auto done =
        Transact("counting the jobs of run " + std::string(run_id), Access::kRead, [&]() -> Status {
          counts.clear();
          auto stmt = Prepare("SELECT state, count(*) FROM jobs WHERE run_id = ? GROUP BY state");
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id);
          for (;;) {
            auto row = stmt->Step("counting jobs");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            auto state = ParseJobState(stmt->Text(0));
            if (!state) return Fail(state.error());
            counts[*state] = stmt->Int(1);
          }
        });
    if (!done) return Fail(done.error());
    return counts;
  }

  Result<std::vector<JobDuration>> SlowestJobs(std::string_view run_id, int limit,
                                               StoreTime now) override {
    std::vector<JobDuration> slowest;
    auto done = Transact(
        "finding the slowest jobs of run " + std::string(run_id), Access::kRead, [&]() -> Status {
          slowest.clear();
          std::string sql = std::string("SELECT ") + kJobColumns +
                            ", coalesce(finished_at, ?) - started_at AS elapsed FROM jobs "
                            "WHERE run_id = ? AND started_at IS NOT NULL "
                            "ORDER BY elapsed DESC, id LIMIT ?";
          auto stmt = Prepare(sql.c_str());
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, now).Bind(2, run_id).Bind(3, int64_t{limit});
          for (;;) {
            auto row = stmt->Step("reading jobs");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            auto job = ReadJob(*stmt);
            if (!job) return Fail(job.error());
            slowest.push_back(
                JobDuration{std::move(*job), std::chrono::milliseconds(stmt->Int(11))});
          }
        });
    if (!done) return Fail(done.error());
    return slowest;
  }

  Status BeginAttempt(int64_t job_id, int number, StoreTime started_at) override {
    return Transact(
        "beginning attempt " + std::to_string(number) + " of job " + std::to_string(job_id),
        Access::kWrite, [&]() -> Status {
          auto job = GetJobLocked(job_id);
          if (!job) return Fail(job.error());
          auto stmt = Prepare(
              "INSERT INTO attempts (job_id, number, started_at) VALUES (?, ?, ?) "
              "ON CONFLICT (job_id, number) DO UPDATE SET started_at = excluded.started_at, "
              "finished_at = NULL, outcome = ''");
          if (!stmt) return Fail(stmt.error());
          return stmt->Bind(1, job_id)
              .Bind(2, int64_t{number})
              .Bind(3, started_at)
              .Run("inserting the attempt");
        });
  }

  Status FinishAttempt(int64_t job_id, int number, std::string_view outcome,
                       StoreTime finished_at) override {
    return Transact(
        "finishing attempt " + std::to_string(number) + " of job " + std::to_string(job_id),
        Access::kWrite, [&]() -> Status {
          auto stmt = Prepare(
              "UPDATE attempts SET finished_at = ?, outcome = ? WHERE job_id = ? AND number = ?");
          if (!stmt) return Fail(stmt.error());
          auto done = stmt->Bind(1, finished_at)
                          .Bind(2, outcome)
                          .Bind(3, job_id)
                          .Bind(4, int64_t{number})
                          .Run("updating the attempt");
          if (!done) return done;
          if (sqlite3_changes(db_.get()) == 0) {
            return Fail(ErrorCode::kNotFound, "the attempt was never begun");
          }
          return {};
        });
  }

  Result<std::vector<AttemptRecord>> ListAttempts(int64_t job_id) override {
    std::vector<AttemptRecord> attempts;
    auto done = Transact(
        "listing the attempts of job " + std::to_string(job_id), Access::kRead, [&]() -> Status {
          attempts.clear();
          auto stmt = Prepare(
              "SELECT number, started_at, finished_at, outcome FROM attempts WHERE job_id = ? "
              "ORDER BY number");
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, job_id);
          for (;;) {
            auto row = stmt->Step("reading attempts");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            attempts.push_back(AttemptRecord{static_cast<int>(stmt->Int(0)),
                                             FromMillis(stmt->Int(1)), stmt->Time(2),
                                             stmt->Text(3)});
          }
        });
    if (!done) return Fail(done.error());
    return attempts;
  }

  Status RecordModelStep(int64_t job_id, int attempt, std::string_view key,
                         std::string_view response_json) override {
    return Transact(
        "recording model step " + std::string(key) + " of job " + std::to_string(job_id),
        Access::kDurableWrite, [&]() -> Status {
          auto job = GetJobLocked(job_id);
          if (!job) return Fail(job.error());
          auto stmt = Prepare(
              "INSERT INTO model_steps (job_id, attempt, key, response_json) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (job_id, attempt, key) DO NOTHING");
          if (!stmt) return Fail(stmt.error());
          return stmt->Bind(1, job_id)
              .Bind(2, int64_t{attempt})
              .Bind(3, key)
              .Bind(4, response_json)
              .Run("inserting the model step");
        });
  }

  Result<std::optional<std::string>> FindModelStep(int64_t job_id, int attempt,
                                                   std::string_view key) override {
    std::optional<std::string> response;
    auto done = Transact(
        "looking up model step " + std::string(key) + " of job " + std::to_string(job_id),
        Access::kRead, [&]() -> Status {
          response.reset();
          auto stmt = Prepare(
              "SELECT response_json FROM model_steps WHERE job_id = ? AND attempt = ? AND key = ?");
          if (!stmt) return Fail(stmt.error());
          auto row = stmt->Bind(1, job_id)
                         .Bind(2, int64_t{attempt})
                         .Bind(3, key)
                         .Step("reading the model step");
          if (!row) return Fail(row.error());
          if (*row) response = stmt->Text(0);
          return {};
        });
    if (!done) return Fail(done.error());
    return response;
  }

  Result<PublicationClaim> ClaimPublication(int64_t job_id, std::string_view head_branch) override {
    PublicationClaim claim;
    auto done = Transact(
        "claiming the publication of job " + std::to_string(job_id), Access::kDurableWrite,
        [&]() -> Status {
          auto job = GetJobLocked(job_id);
          if (!job) return Fail(job.error());
          auto stmt =
              Prepare("SELECT head_branch, state, url, number FROM publications WHERE job_id = ?");
          if (!stmt) return Fail(stmt.error());
          auto row = stmt->Bind(1, job_id).Step("reading the publication");
          if (!row) return Fail(row.error());
          if (*row) {
            claim.head_branch = stmt->Text(0);
            claim.outcome = stmt->Text(1) == "published" ? PublicationClaim::Outcome::kPublished
                                                         : PublicationClaim::Outcome::kInProgress;
            claim.url = stmt->Text(2);
            claim.number = stmt->Int(3);
            return {};
          }
          claim = PublicationClaim{PublicationClaim::Outcome::kClaimed, std::string(head_branch),
                                   "", 0};
          auto insert = Prepare(
              "INSERT INTO publications (job_id, head_branch, state) VALUES (?, ?, 'publishing')");
          if (!insert) return Fail(insert.error());
          return insert->Bind(1, job_id).Bind(2, head_branch).Run("inserting the claim");
        });
    if (!done) return Fail(done.error());
    return claim;
  }

  Status RecordPublication(int64_t job_id, std::string_view url, int64_t number) override {
    return Transact(
        "recording the publication of job " + std::to_string(job_id), Access::kDurableWrite,
        [&]() -> Status {
          auto stmt = Prepare(
              "UPDATE publications SET state = 'published', url = ?, number = ? WHERE job_id = ?");
          if (!stmt) return Fail(stmt.error());
          auto done =
              stmt->Bind(1, url).Bind(2, number).Bind(3, job_id).Run("updating the publication");
          if (!done) return done;
          if (sqlite3_changes(db_.get()) == 0) {
            return Fail(ErrorCode::kInvalidArgument, "the publication was never claimed");
          }
          return {};
        });
  }

  Result<bool> RecordPullRequest(const PullRequestRecord& pr) override {
    bool changed = false;
    auto done = Transact(
        "recording the pull request of job " + std::to_string(pr.job_id), Access::kWrite,
        [&]() -> Status {
          auto job = GetJobLocked(pr.job_id);
          if (!job) return Fail(job.error());
          auto previous = Prepare("SELECT state FROM pull_requests WHERE job_id = ?");
          if (!previous) return Fail(previous.error());
          auto row = previous->Bind(1, pr.job_id).Step("reading the pull request");
          if (!row) return Fail(row.error());
          changed = !*row || previous->Text(0) != PrStateName(pr.state);
          auto upsert = Prepare(
              "INSERT OR REPLACE INTO pull_requests (job_id, forge, api_url, token_env, location, "
              "base_branch, head_branch, head_commit, url, number, state, checks, updated_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
          if (!upsert) return Fail(upsert.error());
          auto stored = upsert->Bind(1, pr.job_id)
                            .Bind(2, pr.forge)
                            .Bind(3, pr.api_url)
                            .Bind(4, pr.token_env)
                            .Bind(5, pr.location)
                            .Bind(6, pr.base_branch)
                            .Bind(7, pr.head_branch)
                            .Bind(8, pr.head_commit)
                            .Bind(9, pr.url)
                            .Bind(10, pr.number)
                            .Bind(11, PrStateName(pr.state))
                            .Bind(12, pr.checks)
                            .Bind(13, pr.updated_at)
                            .Run("storing the pull request");
          if (!stored || !changed) return stored;
          auto event = Prepare(
              "INSERT INTO pull_request_events (job_id, seq, state, at) VALUES (?, (SELECT "
              "coalesce(max(seq), 0) + 1 FROM pull_request_events WHERE job_id = ?), ?, ?)");
          if (!event) return Fail(event.error());
          return event->Bind(1, pr.job_id)
              .Bind(2, pr.job_id)
              .Bind(3, PrStateName(pr.state))
              .Bind(4, pr.updated_at)
              .Run("recording the transition");
        });
    if (!done) return Fail(done.error());
    return changed;
  }

  Result<std::vector<PullRequestRecord>> ListPullRequests(std::string_view run_id) override {
    std::vector<PullRequestRecord> prs;
    auto done = Transact(
        "listing the pull requests of run " + std::string(run_id), Access::kRead, [&]() -> Status {
          auto stmt = Prepare(
              "SELECT p.job_id, j.repository, p.forge, p.api_url, p.token_env, p.location, "
              "p.base_branch, p.head_branch, p.head_commit, p.url, p.number, p.state, p.checks, "
              "p.updated_at FROM pull_requests p JOIN jobs j ON j.id = p.job_id "
              "WHERE j.run_id = ? ORDER BY p.job_id");
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id);
          for (;;) {
            auto row = stmt->Step("reading pull requests");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            PullRequestRecord pr;
            pr.job_id = stmt->Int(0);
            pr.repository = stmt->Text(1);
            pr.forge = stmt->Text(2);
            pr.api_url = stmt->Text(3);
            pr.token_env = stmt->Text(4);
            pr.location = stmt->Text(5);
            pr.base_branch = stmt->Text(6);
            pr.head_branch = stmt->Text(7);
            pr.head_commit = stmt->Text(8);
            pr.url = stmt->Text(9);
            pr.number = stmt->Int(10);
            auto state = ParsePrState(stmt->Text(11));
            if (!state) return Fail(state.error());
            pr.state = *state;
            pr.checks = stmt->Text(12);
            pr.updated_at = FromMillis(stmt->Int(13));
            prs.push_back(std::move(pr));
          }
        });
    if (!done) return Fail(done.error());
    return prs;
  }

  Result<std::vector<PullRequestTransition>> ListPullRequestTransitions(
      std::string_view run_id) override {
    std::vector<PullRequestTransition> transitions;
    auto done = Transact(
        "listing the pull request transitions of run " + std::string(run_id), Access::kRead,
        [&]() -> Status {
          auto stmt = Prepare(
              "SELECT e.job_id, j.repository, e.state, e.at FROM pull_request_events e "
              "JOIN jobs j ON j.id = e.job_id WHERE j.run_id = ? ORDER BY e.at, e.job_id, e.seq");
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id);
          for (;;) {
            auto row = stmt->Step("reading pull request transitions");
            if (!row) return Fail(row.error());
            if (!*row) return {};
            auto state = ParsePrState(stmt->Text(2));
            if (!state) return Fail(state.error());
            transitions.push_back({stmt->Int(0), stmt->Text(1), *state, FromMillis(stmt->Int(3))});
          }
        });
    if (!done) return Fail(done.error());
    return transitions;
  }

  Result<std::vector<JobRecord>> JobsToResume(std::string_view run_id) override {
    std::vector<JobRecord> jobs;
    auto done = Transact(
        "listing the jobs to resume in run " + std::string(run_id), Access::kRead, [&]() -> Status {
          std::string sql = std::string("SELECT ") + kJobColumns +
                            " FROM jobs WHERE run_id = ? AND state IN ('pending', 'running', "
                            "'interrupted') ORDER BY id";
          auto stmt = Prepare(sql.c_str());
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id);
          return ReadJobs(*stmt, jobs);
        });
    if (!done) return Fail(done.error());
    return jobs;
  }

  Result<std::vector<JobRecord>> MarkInterrupted(std::string_view run_id, StoreTime at) override {
    std::vector<JobRecord> jobs;
    auto done = Transact("marking the interrupted jobs of run " + std::string(run_id),
                         Access::kWrite, [&]() -> Status {
                           std::string sql =
                               std::string("SELECT ") + kJobColumns +
                               " FROM jobs WHERE run_id = ? AND state = 'running' ORDER BY id";
                           auto stmt = Prepare(sql.c_str());
                           if (!stmt) return Fail(stmt.error());
                           stmt->Bind(1, run_id);
                           auto read = ReadJobs(*stmt, jobs);
                           if (!read) return read;
                           for (JobRecord& job : jobs) {
                             auto appended = AppendStep(job, job.step, JobState::kInterrupted,
                                                        "interrupted", job.details_json, at);
                             if (!appended) return appended;
                             job.state = JobState::kInterrupted;
                             job.reason = "interrupted";
                             job.updated_at = at;
                           }
                           return {};
                         });
    if (!done) return Fail(done.error());
    return jobs;
  }

  Result<std::vector<JobRecord>> RetryJobs(std::string_view run_id, JobState state,
                                           StoreTime at) override {
    if (!IsTerminal(state) || state == JobState::kPublished) {
      return Fail(ErrorCode::kInvalidArgument,
                  "only failed, skipped or not-applicable jobs can be retried, not " +
                      std::string(JobStateName(state)));
    }
    std::vector<JobRecord> jobs;
    auto done = Transact(
        "retrying the " + std::string(JobStateName(state)) + " jobs of run " + std::string(run_id),
        Access::kDurableWrite, [&]() -> Status {
          std::string sql = std::string("SELECT ") + kJobColumns +
                            " FROM jobs WHERE run_id = ? AND state = ? ORDER BY id";
          auto stmt = Prepare(sql.c_str());
          if (!stmt) return Fail(stmt.error());
          stmt->Bind(1, run_id).Bind(2, JobStateName(state));
          auto read = ReadJobs(*stmt, jobs);
          if (!read) return read;
          for (JobRecord& job : jobs) {
            for (const char* statement :
                 {"INSERT INTO job_steps (job_id, seq, step, state, reason, details_json, at) "
                  "SELECT ?1, coalesce(max(seq), 0) + 1, 'retry', 'pending', 'retry requested', "
                  "'', ?2 FROM job_steps WHERE job_id = ?1",
                  "UPDATE jobs SET state = 'pending', step = '', reason = '', details_json = '', "
                  "finished_at = NULL, updated_at = ?2 WHERE id = ?1",
                  "DELETE FROM model_steps WHERE job_id = ?1 AND ?2 = ?2",
                  "DELETE FROM publications WHERE job_id = ?1 AND state = 'publishing' "
                  "AND ?2 = ?2"}) {
              auto change = Prepare(statement);
              if (!change) return Fail(change.error());
              auto ran = change->Bind(1, job.id).Bind(2, at).Run("resetting a job for a retry");
              if (!ran) return ran;
            }
            job.state = JobState::kPending;
            job.reason.clear();
            job.finished_at.reset();
          }
          return {};
        });
    if (!done) return Fail(done.error());
    return jobs;
  }

 private:
  Error Context(Error error, std::string_view purpose) const {
    return WithContext(std::move(error),
                       "state store " + path_.string() + ": " + std::string(purpose));
  }

  Result<Stmt> Prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Fail(SqliteError(db_.get(), rc, "preparing a statement"));
    }
    return Stmt(db_.get(), stmt);
  }

  Status Exec(const char* sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
    sqlite3_free(message);  // sqlite3_errmsg still holds the text.
    if (rc != SQLITE_OK) return Fail(SqliteError(db_.get(), rc, "executing"));
    return {};
  }

  // Runs `body` in a transaction (BEGIN IMMEDIATE when it writes, so that the write lock is
  // taken up front and a busy wait never happens half-way), committing when it succeeds. When
  // another connection holds the lock past SQLite's own busy wait, the whole transaction is
  // rolled back and run again until kBusyTimeout has passed; `body` must be rerunnable.
  template <typename Body>
  Status Transact(std::string_view purpose, Access access, Body&& body) {
    std::lock_guard lock(mutex_);
    // The safety level cannot change inside a transaction: a durable write's COMMIT runs with
    // synchronous=FULL, which syncs the WAL (every earlier commit included) before it returns.
    bool durable = access == Access::kDurableWrite;
    if (durable) {
      if (auto full = Exec("PRAGMA synchronous = FULL"); !full) {
        return Fail(Context(full.error(), purpose));
      }
    }
    Status result = TransactLocked(access, body);
    if (durable) {
      if (auto normal = Exec("PRAGMA synchronous = NORMAL"); !normal && result) result = normal;
    }
    if (!result) return Fail(Context(result.error(), purpose));
    return result;
  }

  template <typename Body>
  Status TransactLocked(Access access, Body& body) {
    auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
    for (;;) {
      Status result = Exec(access == Access::kRead ? "BEGIN" : "BEGIN IMMEDIATE");
      if (result) {
        result = body();
        if (result) result = Exec("COMMIT");
        if (!result && !sqlite3_get_autocommit(db_.get())) (void)Exec("ROLLBACK");
      }
      if (result || result.error().code != ErrorCode::kUnavailable ||
          std::chrono::steady_clock::now() >= deadline) {
        return result;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  Result<std::optional<RunRecord>> FindRun(std::string_view run_id) {
    auto stmt = Prepare(
        "SELECT run_id, migration_id, spec_hash, created_at, control FROM runs "
        "WHERE run_id = ?");
    if (!stmt) return Fail(stmt.error());
    auto row = stmt->Bind(1, run_id).Step("reading the run");
    if (!row) return Fail(row.error());
    if (!*row) return std::optional<RunRecord>();
    auto run = ReadRun(*stmt);
    if (!run) return Fail(run.error());
    return std::optional<RunRecord>(std::move(*run));
  }

  static Result<RunRecord> ReadRun(const Stmt& stmt) {
    auto control = ParseRunControl(stmt.Text(4));
    if (!control) return Fail(control.error());
    return RunRecord{stmt.Text(0), stmt.Text(1), stmt.Text(2), FromMillis(stmt.Int(3)), *control};
  }

  // Columns in kJobColumns order, from column 0.
  static Result<JobRecord> ReadJob(const Stmt& stmt) {
    auto state = ParseJobState(stmt.Text(4));
    if (!state) return Fail(state.error());
    return JobRecord{stmt.Int(0),  stmt.Text(1), stmt.Text(2), stmt.Text(3),
                     *state,       stmt.Text(5), stmt.Text(6), stmt.Text(7),
                     stmt.Time(8), stmt.Time(9), stmt.Time(10)};
  }

  static Status ReadJobs(Stmt& stmt, std::vector<JobRecord>& jobs) {
    jobs.clear();
    for (;;) {
      auto row = stmt.Step("reading jobs");
      if (!row) return Fail(row.error());
      if (!*row) return {};
      auto job = ReadJob(stmt);
      if (!job) return Fail(job.error());
      jobs.push_back(std::move(*job));
    }
  }

  Result<JobRecord> GetJobLocked(int64_t job_id) {
    std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?";
    auto stmt = Prepare(sql.c_str());
    if (!stmt) return Fail(stmt.error());
    auto row = stmt->Bind(1, job_id).Step("reading the job");
    if (!row) return Fail(row.error());
    if (!*row) return Fail(ErrorCode::kNotFound, "no such job");
    return ReadJob(*stmt);
  }

  // The step log entry and the job's row; inside the caller's transaction.
  Status AppendStep(const JobRecord& job, std::string_view step, JobState state,
                    std::string_view reason, std::string_view details_json, StoreTime at) {
    if (IsTerminal(job.state)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "job " + job.repository + " is already " + std::string(JobStateName(job.state)));
    }
    auto log = Prepare(
        "INSERT INTO job_steps (job_id, seq, step, state, reason, details_json, at) "
        "SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6 FROM job_steps "
        "WHERE job_id = ?1");
    if (!log) return Fail(log.error());
    auto logged = log->Bind(1, job.id)
                      .Bind(2, step)
                      .Bind(3, JobStateName(state))
                      .Bind(4, reason)
                      .Bind(5, details_json)
                      .Bind(6, at)
                      .Run("appending to the step log");
    if (!logged) return logged;
    auto update = Prepare(
        "UPDATE jobs SET state = ?, step = ?, reason = ?, details_json = ?, "
        "started_at = coalesce(started_at, ?5), updated_at = ?5, "
        "finished_at = CASE WHEN ?6 THEN ?5 END WHERE id = ?7");
    if (!update) return Fail(update.error());
    return update->Bind(1, JobStateName(state))
        .Bind(2, step)
        .Bind(3, reason)
        .Bind(4, details_json)
        .Bind(5, at)
        .Bind(6, int64_t{IsTerminal(state) ? 1 : 0})
        .Bind(7, job.id)
        .Run("updating the job");
  }

  DbHandle db_;
  std::filesystem::path path_;
  std::mutex mutex_;  // Guards every use of db_.
};

}  // namespace

std::string_view RunControlName(RunControl control) {
  switch (control) {
    case RunControl::kRunning: return "running";
    case RunControl::kPaused: return "paused";
    case RunControl::kCancelled: return "cancelled";
  }
  return "running";
}

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kPending: return "pending";
    case JobState::kRunning: return "running";
    case JobState::kInterrupted: return "interrupted";
    case JobState::kPublished: return "published";
    case JobState::kFailed: return "failed";
    case JobState::kSkipped: return "skipped";
    case JobState::kNotApplicable: return "not_applicable";
  }
  return "pending";
}

bool IsTerminal(JobState state) {
  switch (state) {
    case JobState::kPending:
    case JobState::kRunning:
    case JobState::kInterrupted: return false;
    case JobState::kPublished:
    case JobState::kFailed:
    case JobState::kSkipped:
    case JobState::kNotApplicable: return true;
  }
  return false;
}

std::string_view PrStateName(PrState state) {
  switch (state) {
    case PrState::kOpen: return "open";
    case PrState::kMerged: return "merged";
    case PrState::kClosed: return "closed";
  }
  return "open";
}

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::filesystem::path& db) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      db.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle handle(raw);  // Closes even a failed open.
  if (rc != SQLITE_OK) {
    Error error = SqliteError(raw, rc, "opening");
    error.code = ErrorCode::kIo;
    return Fail(WithContext(std::move(error), "state store " + db.string()));
  }
  auto store = std::make_unique<SqliteStateStore>(std::move(handle), db);
  auto ready = store->Initialize();
  if (!ready) return Fail(ready.error());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace drover::fleet
