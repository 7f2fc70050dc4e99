#include "fleet/report.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <set>

#include "core/fs.h"
#include "fleet/runner.h"
#include "forge/forges.h"

namespace drover::fleet {
namespace {

std::string IsoTime(StoreTime time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Percent(double value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", value);
  return buf;
}

std::string Seconds(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", value);
  return buf;
}

std::optional<JobReport> DetailsOf(const JobRecord& job) {
  if (job.details_json.empty()) return std::nullopt;
  auto json = ParseJson(job.details_json, "job details");
  if (!json) return std::nullopt;
  return JobReportFromJson(*json);
}

// Steps from the runner's final check on: the change was verified.
bool ReachedVerified(std::optional<JobStep> step) {
  return step == JobStep::kVerified || step == JobStep::kPublishing ||
         step == JobStep::kPublished;
}

// The store's step of `job`; none before its first (or for a name no step has).
std::optional<JobStep> StepOf(const JobRecord& job) {
  auto step = JobStepFromName(job.step);
  return step ? std::optional<JobStep>(*step) : std::nullopt;
}

// Markdown table cells: one line, no column breaks.
std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// printf onto the end of `out`.
__attribute__((format(printf, 2, 3))) void AppendF(std::string& out, const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int size = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (size > 0) {
    size_t at = out.size();
    out.resize(at + static_cast<size_t>(size) + 1);
    std::vsnprintf(out.data() + at, static_cast<size_t>(size) + 1, format, again);
    out.resize(at + static_cast<size_t>(size));
  }
  va_end(again);
}

std::string Truncate(std::string text, size_t width) {
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

int CountWith(const std::vector<SummaryJob>& jobs, JobStatus status) {
  return static_cast<int>(std::count_if(jobs.begin(), jobs.end(),
                                        [&](const auto& job) { return job.status == status; }));
}

std::string BurndownSvg(const std::vector<BurndownPoint>& points) {
  constexpr int kWidth = 640, kHeight = 240, kPad = 40;
  int64_t top = 1;
  for (const auto& p : points) top = std::max({top, p.open, p.merged});
  auto first = points.front().at;
  double span =
      std::max<double>(1.0, std::chrono::duration<double>(points.back().at - first).count());
  auto x = [&](StoreTime at) {
    return kPad + (kWidth - 2 * kPad) * std::chrono::duration<double>(at - first).count() / span;
  };
  auto y = [&](int64_t count) {
    return kHeight - kPad -
           (kHeight - 2 * kPad) * static_cast<double>(count) / static_cast<double>(top);
  };
  auto line = [&](int64_t BurndownPoint::*field) {
    std::string out;
    char buf[64];
    for (const auto& p : points) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x(p.at), y(p.*field));
      out += buf;
    }
    return out;
  };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) +
                    "\" height=\"" + std::to_string(kHeight) +
                    "\" role=\"img\" aria-label=\"Open and merged pull requests over time\">\n";
  svg +=
      "<line x1=\"40\" y1=\"200\" x2=\"600\" y2=\"200\" stroke=\"#888\"/>"
      "<line x1=\"40\" y1=\"40\" x2=\"40\" y2=\"200\" stroke=\"#888\"/>\n";
  svg += "<text x=\"4\" y=\"44\" font-size=\"12\">" + std::to_string(top) + "</text>";
  svg += "<text x=\"4\" y=\"204\" font-size=\"12\">0</text>\n";
  svg += "<polyline class=\"open\" fill=\"none\" stroke=\"#d97706\" stroke-width=\"2\" points=\"" +
         line(&BurndownPoint::open) + "\"/>\n";
  svg +=
      "<polyline class=\"merged\" fill=\"none\" stroke=\"#16a34a\" stroke-width=\"2\" "
      "points=\"" +
      line(&BurndownPoint::merged) + "\"/>\n";
  svg += "<text x=\"40\" y=\"226\" font-size=\"12\">" + IsoTime(first) + "</text>";
  svg += "<text x=\"600\" y=\"226\" font-size=\"12\" text-anchor=\"end\">" +
         IsoTime(points.back().at) + "</text>\n";
  svg +=
      "<text x=\"460\" y=\"20\" font-size=\"12\" fill=\"#d97706\">open</text>"
      "<text x=\"520\" y=\"20\" font-size=\"12\" fill=\"#16a34a\">merged</text>\n</svg>\n";
  return svg;
}

}  // namespace

std::vector<FunnelStage> ComputeFunnel(const std::vector<JobRecord>& jobs,
                                       const std::vector<PullRequestRecord>& prs) {
  int64_t attempted = 0, verified = 0;
  for (const auto& job : jobs) {
    auto details = DetailsOf(job);
    std::optional<JobStep> step = StepOf(job);
    bool reached_verified = job.state == JobState::kPublished || ReachedVerified(step) ||
                            (details && ReachedVerified(details->step));
    verified += reached_verified ? 1 : 0;
    attempted += reached_verified || (details && details->attempts > 0) ||
                         step == JobStep::kAgent || step == JobStep::kVerifying ||
                         step == JobStep::kJudging
                     ? 1
                     : 0;
  }
  int64_t merged = std::count_if(prs.begin(), prs.end(),
                                 [](const auto& pr) { return pr.state == PrState::kMerged; });
  std::vector<FunnelStage> funnel = {{"targeted", static_cast<int64_t>(jobs.size())},
                                     {"attempted", attempted},
                                     {"verified", verified},
                                     {"pr_opened", static_cast<int64_t>(prs.size())},
                                     {"merged", merged}};
  for (auto& stage : funnel) {
    stage.percent =
        jobs.empty() ? 0
                     : 100.0 * static_cast<double>(stage.count) / static_cast<double>(jobs.size());
  }
  return funnel;
}

std::vector<BurndownPoint> ComputeBurndown(const std::vector<PullRequestTransition>& transitions) {
  std::vector<PullRequestTransition> sorted = transitions;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  std::map<int64_t, PrState> current;
  std::vector<BurndownPoint> points;
  for (size_t i = 0; i < sorted.size(); ++i) {
    current[sorted[i].job_id] = sorted[i].state;
    if (i + 1 < sorted.size() && sorted[i + 1].at == sorted[i].at) continue;
    BurndownPoint point{sorted[i].at};
    for (const auto& [job, state] : current) {
      switch (state) {
        case PrState::kOpen: ++point.open; break;
        case PrState::kMerged: ++point.merged; break;
        case PrState::kClosed: ++point.closed; break;
      }
    }
    points.push_back(point);
  }
  return points;
}

RunSummary SummarizeRun(const RunReport& report) {
  RunSummary summary;
  summary.run_id = report.run_id;
  summary.migration_id = report.migration_id;
  summary.run = RunFacts{report.model,  report.isolation, report.replayed,
                         report.paused, report.seconds,   report.run_dir};
  for (const auto& job : report.jobs) {
    summary.jobs.push_back({job.repository, job.status, job.turns, job.model, job.fallbacks,
                            job.input_tokens, job.output_tokens, job.cached_input_tokens,
                            job.baseline, job.verifier, job.pr_url, job.reason, job.checks,
                            job.job_dir});
  }
  return summary;
}

Result<RunSummary> BuildRunSummary(StateStore& store, std::string_view run_id, StoreTime now) {
  auto run = store.GetRun(run_id);
  if (!run) return Fail(run.error());
  auto jobs = store.ListJobs(run_id, std::nullopt);
  if (!jobs) return Fail(jobs.error());
  auto prs = store.ListPullRequests(run_id);
  if (!prs) return Fail(prs.error());
  auto transitions = store.ListPullRequestTransitions(run_id);
  if (!transitions) return Fail(transitions.error());
  auto slowest = store.SlowestJobs(run_id, 5, now);
  if (!slowest) return Fail(slowest.error());

  RunSummary summary;
  summary.run_id = run->run_id;
  summary.migration_id = run->migration_id;
  RunHistory& report = summary.history.emplace();
  report.funnel = ComputeFunnel(*jobs, *prs);
  report.pull_requests = *prs;
  report.burndown = ComputeBurndown(*transitions);
  std::map<std::pair<std::string, std::string>, size_t> group_index;
  for (const auto& job : *jobs) {
    report.counts[std::string(JobStateName(job.state))]++;
    if (auto details = DetailsOf(job)) {
      report.input_tokens += details->input_tokens;
      report.output_tokens += details->output_tokens;
    }
    if (job.state != JobState::kFailed && job.state != JobState::kSkipped) continue;
    std::string status(JobStateName(job.state));
    std::string category = job.reason.substr(0, job.reason.find(": "));
    if (category.empty()) category = "(no reason recorded)";
    auto [it, added] = group_index.try_emplace({status, category}, report.reasons.size());
    if (added) report.reasons.push_back({status, category, 0, job.reason, {}});
    auto& group = report.reasons[it->second];
    group.count++;
    group.repositories.push_back(job.repository);
  }
  std::stable_sort(report.reasons.begin(), report.reasons.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& slow : *slowest) {
    report.slowest.push_back({slow.job.repository, std::string(JobStateName(slow.job.state)),
                              std::chrono::duration<double>(slow.elapsed).count()});
  }
  return summary;
}

std::string RenderSummaryMarkdown(const RunSummary& summary) {
  std::string md;
  if (summary.run) {
    // summary.md: written once at the end of the run, as the runner's own record; its cells
    // are the report's texts as they are (masked, not escaped).
    const RunFacts& run = *summary.run;
    md = "# drover run " + summary.run_id + "\n\n";
    md += "Migration `" + summary.migration_id + "`, model " + run.model + ", isolation " +
          run.isolation + ".\n\n";
    if (!run.paused.empty()) md += "> **Paused:** " + run.paused + "\n\n";
    if (run.replayed) {
      md += "> This run replayed recorded model exchanges: it tests the pipeline, not a model.\n\n";
    }
    md +=
        "| repository | status | turns | model | tokens (in/out, cached in) | verifier | PR / "
        "reason |\n";
    md += "|---|---|---:|---|---:|---|---|\n";
    for (const auto& job : summary.jobs) {
      std::string last = job.status == JobStatus::kPublished ? job.pr_url : job.reason;
      std::string model = job.model;
      if (job.fallbacks > 0) {
        model += " (after " + std::to_string(job.fallbacks) +
                 (job.fallbacks == 1 ? " fallback)" : " fallbacks)");
      }
      md += "| " + job.repository + " | " + std::string(JobStatusName(job.status)) + " | " +
            std::to_string(job.turns) + " | " + model + " | " + std::to_string(job.input_tokens) +
            "/" + std::to_string(job.output_tokens) + ", " +
            std::to_string(job.cached_input_tokens) + " | " +
            (job.verifier.empty() ? (job.baseline.empty() ? "" : "baseline: " + job.baseline)
                                  : "final check: " + job.verifier) +
            " | " + last + " |\n";
    }
    std::string chosen;
    for (const auto& job : summary.jobs) {
      if (!job.checks.empty()) chosen += "- " + job.repository + ": " + job.checks + "\n";
    }
    if (!chosen.empty()) md += "\n## Checks chosen by detection\n\n" + chosen;
  } else {
    md = "# drover report: " + Cell(summary.run_id) + "\n\nMigration `" +
         Cell(summary.migration_id) + "`.\n\n";
  }
  if (!summary.history) return md;
  const RunHistory& history = *summary.history;
  md += "## Jobs by status\n\n| status | jobs |\n|---|---:|\n";
  for (const auto& [status, count] : history.counts) {
    md += "| " + status + " | " + std::to_string(count) + " |\n";
  }
  md += "\n## Funnel\n\n| stage | jobs | of targeted |\n|---|---:|---:|\n";
  for (const auto& stage : history.funnel) {
    md += "| " + stage.name + " | " + std::to_string(stage.count) + " | " + Percent(stage.percent) +
          " |\n";
  }
  md += "\n## Failure reasons\n\n";
  if (history.reasons.empty()) md += "None.\n";
  for (const auto& group : history.reasons) {
    md += "- **" + Cell(group.category) + "** (" + group.status + ", " +
          std::to_string(group.count) + "): " + Cell(group.example) + " — ";
    for (size_t i = 0; i < group.repositories.size(); ++i) {
      md += (i ? ", " : "") + Cell(group.repositories[i]);
    }
    md += "\n";
  }
  md += "\n## Slowest jobs\n\n| repository | state | time |\n|---|---|---:|\n";
  for (const auto& job : history.slowest) {
    md += "| " + Cell(job.repository) + " | " + job.state + " | " + Seconds(job.seconds) + " |\n";
  }
  md += "\n## Usage\n\n" + std::to_string(history.input_tokens) + " input and " +
        std::to_string(history.output_tokens) + " output tokens; cost not known.\n";
  md += "\n## Pull requests\n\n| repository | state | checks | PR |\n|---|---|---|---|\n";
  for (const auto& pr : history.pull_requests) {
    md += "| " + Cell(pr.repository) + " | " + std::string(PrStateName(pr.state)) + " | " +
          Cell(pr.checks) + " | " + Cell(pr.url) + " |\n";
  }
  md += "\n## Burndown\n\n| time (UTC) | open | merged | closed |\n|---|---:|---:|---:|\n";
  for (const auto& point : history.burndown) {
    md += "| " + IsoTime(point.at) + " | " + std::to_string(point.open) + " | " +
          std::to_string(point.merged) + " | " + std::to_string(point.closed) + " |\n";
  }
  return md;
}

Json RenderSummaryJson(const RunSummary& summary) {
  Json out{{"run_id", summary.run_id}, {"migration", summary.migration_id}};
  if (summary.run) {
    out["model"] = summary.run->model;
    out["isolation"] = summary.run->isolation;
    out["replayed"] = summary.run->replayed;
    out["paused"] = summary.run->paused;
    out["seconds"] = summary.run->seconds;
    out["run_dir"] = summary.run->run_dir.string();
    Json jobs = Json::array();
    for (const auto& job : summary.jobs) {
      jobs.push_back({{"repository", job.repository},
                      {"status", JobStatusName(job.status)},
                      {"turns", job.turns},
                      {"model", job.model},
                      {"fallbacks", job.fallbacks},
                      {"input_tokens", job.input_tokens},
                      {"output_tokens", job.output_tokens},
                      {"cached_input_tokens", job.cached_input_tokens},
                      {"baseline", job.baseline},
                      {"verifier", job.verifier},
                      {"pr_url", job.pr_url},
                      {"reason", job.reason},
                      {"checks", job.checks}});
    }
    out["jobs"] = jobs;
  }
  if (!summary.history) return out;
  const RunHistory& report = *summary.history;
  Json funnel = Json::array();
  for (const auto& stage : report.funnel) {
    funnel.push_back({{"stage", stage.name}, {"count", stage.count}, {"percent", stage.percent}});
  }
  Json reasons = Json::array();
  for (const auto& group : report.reasons) {
    reasons.push_back({{"status", group.status},
                       {"category", group.category},
                       {"count", group.count},
                       {"example", group.example},
                       {"repositories", group.repositories}});
  }
  Json slowest = Json::array();
  for (const auto& job : report.slowest) {
    slowest.push_back(
        {{"repository", job.repository}, {"state", job.state}, {"seconds", job.seconds}});
  }
  Json prs = Json::array();
  for (const auto& pr : report.pull_requests) {
    prs.push_back({{"repository", pr.repository},
                   {"forge", pr.forge},
                   {"url", pr.url},
                   {"number", pr.number},
                   {"state", PrStateName(pr.state)},
                   {"checks", pr.checks},
                   {"updated_at", IsoTime(pr.updated_at)}});
  }
  Json burndown = Json::array();
  for (const auto& point : report.burndown) {
    burndown.push_back({{"at", IsoTime(point.at)},
                        {"open", point.open},
                        {"merged", point.merged},
                        {"closed", point.closed}});
  }
  out["counts"] = report.counts;
  out["funnel"] = funnel;
  out["failure_reasons"] = reasons;
  out["slowest"] = slowest;
  out["tokens"] = {{"input", report.input_tokens}, {"output", report.output_tokens}};
  out["cost_usd"] = nullptr;
  out["pull_requests"] = prs;
  out["burndown"] = burndown;
  return out;
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderSummaryHtml(const RunSummary& summary) {
  auto row = [](const std::vector<std::string>& cells) {
    std::string tr = "<tr>";
    for (const auto& cell : cells) tr += "<td>" + cell + "</td>";
    return tr + "</tr>\n";
  };
  std::string title =
      (summary.run ? "drover run " : "drover report: ") + EscapeHtml(summary.run_id);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + title +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
      "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;"
      "padding:.2em .6em;text-align:left}.bar{background:#2563eb;height:.8em}</style>\n"
      "</head><body>\n<h1>" +
      title + "</h1>\n<p>Migration <code>" + EscapeHtml(summary.migration_id) + "</code>.</p>\n";
  if (summary.run) {
    const RunFacts& run = *summary.run;
    html += "<p>Model " + EscapeHtml(run.model) + ", isolation " + EscapeHtml(run.isolation) +
            ".</p>\n";
    if (!run.paused.empty()) html += "<p><b>Paused:</b> " + EscapeHtml(run.paused) + "</p>\n";
    if (run.replayed) {
      html +=
          "<p>This run replayed recorded model exchanges: it tests the pipeline, not a "
          "model.</p>\n";
    }
    html +=
        "<h2>Jobs</h2>\n<table><tr><th>repository</th><th>status</th><th>turns</th>"
        "<th>tokens in/out</th><th>verifier</th><th>PR / reason</th></tr>\n";
    for (const auto& job : summary.jobs) {
      html += row({EscapeHtml(job.repository), std::string(JobStatusName(job.status)),
                   std::to_string(job.turns),
                   std::to_string(job.input_tokens) + "/" + std::to_string(job.output_tokens),
                   EscapeHtml(job.verifier.empty() ? job.baseline : job.verifier),
                   EscapeHtml(job.status == JobStatus::kPublished ? job.pr_url : job.reason)});
    }
    html += "</table>\n";
  }
  if (!summary.history) return html + "</body></html>\n";
  const RunHistory& report = *summary.history;
  html += "<h2>Jobs by status</h2>\n<table><tr><th>status</th><th>jobs</th></tr>\n";
  for (const auto& [status, count] : report.counts) {
    html += row({EscapeHtml(status), std::to_string(count)});
  }
  html +=
      "</table>\n<h2>Funnel</h2>\n<table><tr><th>stage</th><th>jobs</th><th>of "
      "targeted</th><th></th></tr>\n";
  for (const auto& stage : report.funnel) {
    char width[32];
    std::snprintf(width, sizeof width, "%.0f", stage.percent * 2);
    html += row({stage.name, std::to_string(stage.count), Percent(stage.percent),
                 "<div class=\"bar\" style=\"width:" + std::string(width) + "px\"></div>"});
  }
  html += "</table>\n<h2>Failure reasons</h2>\n";
  if (report.reasons.empty()) html += "<p>None.</p>\n";
  html += "<ul>\n";
  for (const auto& group : report.reasons) {
    std::string repositories;
    for (size_t i = 0; i < group.repositories.size(); ++i) {
      repositories += (i ? ", " : "") + EscapeHtml(group.repositories[i]);
    }
    html += "<li><b>" + EscapeHtml(group.category) + "</b> (" + EscapeHtml(group.status) + ", " +
            std::to_string(group.count) + "): " + EscapeHtml(group.example) + " — " + repositories +
            "</li>\n";
  }
  html +=
      "</ul>\n<h2>Slowest "
      "jobs</h2>\n<table><tr><th>repository</th><th>state</th><th>time</th></tr>\n";
  for (const auto& job : report.slowest) {
    html += row({EscapeHtml(job.repository), EscapeHtml(job.state), Seconds(job.seconds)});
  }
  html += "</table>\n<h2>Usage</h2>\n<p>" + std::to_string(report.input_tokens) + " input and " +
          std::to_string(report.output_tokens) + " output tokens; cost not known.</p>\n";
  html +=
      "<h2>Pull requests</h2>\n<table><tr><th>repository</th><th>state</th><th>checks</th>"
      "<th>PR</th></tr>\n";
  for (const auto& pr : report.pull_requests) {
    html += row({EscapeHtml(pr.repository), std::string(PrStateName(pr.state)),
                 EscapeHtml(pr.checks), EscapeHtml(pr.url)});
  }
  html += "</table>\n<h2>Burndown</h2>\n";
  if (report.burndown.empty()) {
    html += "<p>No pull request yet.</p>\n";
  } else {
    html += BurndownSvg(report.burndown);
  }
  return html + "</body></html>\n";
}

std::string RenderSummaryText(const RunSummary& summary) {
  std::string out;
  AppendF(out, "\n%-18s %-15s %5s %15s  %-34s %s\n", "REPOSITORY", "STATUS", "TURNS",
          "TOKENS in/out", "VERIFIER", "PR / REASON");
  std::filesystem::path run_dir = summary.run ? summary.run->run_dir : std::filesystem::path();
  for (const auto& job : summary.jobs) {
    std::string tokens = std::to_string(job.input_tokens) + "/" + std::to_string(job.output_tokens);
    std::string verifier = job.verifier.empty() ? "baseline: " + job.baseline : job.verifier;
    std::string last = job.reason;
    if (job.status == JobStatus::kPublished) {
      // Local PRs are files in the run directory; the path below it is what fits a table.
      auto relative = std::filesystem::path(job.pr_url).lexically_relative(run_dir);
      last =
          relative.empty() || relative.string().starts_with("..") ? job.pr_url : relative.string();
    }
    AppendF(out, "%-18s %-15s %5d %15s  %-34s %s\n", Truncate(job.repository, 18).c_str(),
            std::string(JobStatusName(job.status)).c_str(), job.turns, tokens.c_str(),
            Truncate(verifier, 34).c_str(), Truncate(last, 90).c_str());
  }
  AppendF(out, "\n%d published, %d failed, %d skipped, %d not applicable in %.1fs\n",
          CountWith(summary.jobs, JobStatus::kPublished),
          CountWith(summary.jobs, JobStatus::kFailed), CountWith(summary.jobs, JobStatus::kSkipped),
          CountWith(summary.jobs, JobStatus::kNotApplicable),
          summary.run ? summary.run->seconds : 0.0);
  if (summary.run && summary.run->replayed) {
    out += "Model: recorded exchanges replayed (a test of the pipeline, not of a model).\n";
  }
  out += "Isolation: " + (summary.run ? summary.run->isolation : std::string()) + "\n";
  bool any_pr = false;
  for (const auto& job : summary.jobs) {
    if (job.status != JobStatus::kPublished) continue;
    if (!any_pr) out += "\nPull requests to look at:\n";
    any_pr = true;
    out += "  " + (job.job_dir / "pr.md").string() + "\n  " + (job.job_dir / "pr.patch").string() +
           "\n";
  }
  out +=
      "\nRun directory: " + run_dir.string() + " (summary.md, jobs/*/attempt-*/transcript.jsonl)\n";
  return out;
}

Status WriteRunSummary(const RunReport& report) {
  if (auto wrote = WriteFileAtomic(report.run_dir / "summary.json", report.ToJson().dump(2) + "\n");
      !wrote) {
    return wrote;
  }
  return WriteFileAtomic(report.run_dir / "summary.md",
                         RenderSummaryMarkdown(SummarizeRun(report)));
}

Result<std::vector<PullRequestChange>> TrackPullRequests(
    StateStore& store, std::string_view run_id, GitRepos& git, HttpClient& http,
    ForgeGovernor& governor, const std::map<std::string, std::string>& env, StoreTime now) {
  auto prs = store.ListPullRequests(run_id);
  if (!prs) return Fail(prs.error());
  std::vector<PullRequestChange> changes;
  for (auto pr : *prs) {
    PullRequestChange change{pr.repository, pr.url, pr.state, pr.state, pr.checks, ""};
    auto observed = ReadPullRequest(pr, git, http, governor, env);
    if (!observed) {
      change.error = observed.error().message;
      changes.push_back(std::move(change));
      continue;
    }
    change.to = observed->state;
    change.checks = observed->checks;
    if (observed->state != pr.state || observed->checks != pr.checks) {
      pr.state = observed->state;
      pr.checks = observed->checks;
      pr.updated_at = now;
      if (auto recorded = store.RecordPullRequest(pr); !recorded) return Fail(recorded.error());
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace drover::fleet
