#include "fleet/report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "forge/forges.h"
#include "fleet/runner.h"

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

Result<RunSummaryReport> BuildRunReport(StateStore& store, std::string_view run_id, StoreTime now) {
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

  RunSummaryReport report;
  report.run_id = run->run_id;
  report.migration_id = run->migration_id;
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
  return report;
}

std::string RenderReportMarkdown(const RunSummaryReport& report) {
  std::string md = "# drover report: " + Cell(report.run_id) + "\n\nMigration `" +
                   Cell(report.migration_id) +
                   "`.\n\n## Jobs by status\n\n| status | jobs |\n|---|---:|\n";
  for (const auto& [status, count] : report.counts) {
    md += "| " + status + " | " + std::to_string(count) + " |\n";
  }
  md += "\n## Funnel\n\n| stage | jobs | of targeted |\n|---|---:|---:|\n";
  for (const auto& stage : report.funnel) {
    md += "| " + stage.name + " | " + std::to_string(stage.count) + " | " + Percent(stage.percent) +
          " |\n";
  }
  md += "\n## Failure reasons\n\n";
  if (report.reasons.empty()) md += "None.\n";
  for (const auto& group : report.reasons) {
    md += "- **" + Cell(group.category) + "** (" + group.status + ", " +
          std::to_string(group.count) + "): " + Cell(group.example) + " — ";
    for (size_t i = 0; i < group.repositories.size(); ++i) {
      md += (i ? ", " : "") + Cell(group.repositories[i]);
    }
    md += "\n";
  }
  md += "\n## Slowest jobs\n\n| repository | state | time |\n|---|---|---:|\n";
  for (const auto& job : report.slowest) {
    md += "| " + Cell(job.repository) + " | " + job.state + " | " + Seconds(job.seconds) + " |\n";
  }
  md += "\n## Usage\n\n" + std::to_string(report.input_tokens) + " input and " +
        std::to_string(report.output_tokens) + " output tokens; cost not known.\n";
  md += "\n## Pull requests\n\n| repository | state | checks | PR |\n|---|---|---|---|\n";
  for (const auto& pr : report.pull_requests) {
    md += "| " + Cell(pr.repository) + " | " + std::string(PrStateName(pr.state)) + " | " +
          Cell(pr.checks) + " | " + Cell(pr.url) + " |\n";
  }
  md += "\n## Burndown\n\n| time (UTC) | open | merged | closed |\n|---|---:|---:|---:|\n";
  for (const auto& point : report.burndown) {
    md += "| " + IsoTime(point.at) + " | " + std::to_string(point.open) + " | " +
          std::to_string(point.merged) + " | " + std::to_string(point.closed) + " |\n";
  }
  return md;
}

Json ReportToJson(const RunSummaryReport& report) {
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
  return Json{{"run_id", report.run_id},
              {"migration", report.migration_id},
              {"counts", report.counts},
              {"funnel", funnel},
              {"failure_reasons", reasons},
              {"slowest", slowest},
              {"tokens", {{"input", report.input_tokens}, {"output", report.output_tokens}}},
              {"cost_usd", nullptr},
              {"pull_requests", prs},
              {"burndown", burndown}};
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

std::string RenderReportHtml(const RunSummaryReport& report) {
  auto row = [](const std::vector<std::string>& cells) {
    std::string tr = "<tr>";
    for (const auto& cell : cells) tr += "<td>" + cell + "</td>";
    return tr + "</tr>\n";
  };
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>drover report: " +
      EscapeHtml(report.run_id) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
      "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;"
      "padding:.2em .6em;text-align:left}.bar{background:#2563eb;height:.8em}</style>\n"
      "</head><body>\n<h1>drover report: " +
      EscapeHtml(report.run_id) + "</h1>\n<p>Migration <code>" + EscapeHtml(report.migration_id) +
      "</code>.</p>\n";
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
