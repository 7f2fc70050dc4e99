#!/usr/bin/env python3
"""Input tokens of the eval suite's recorded solutions with and without the repo map and
context management, and the share of them a provider's prompt cache could serve.

Each configuration is a copy of the suite (in a temporary folder; the committed suite is never
touched) whose migrations' `limits` are overridden, replayed by `drover eval --keep-work`
through the gateway from each task's own cassette:

  with      the defaults: the repo map (repo_map_tokens 2000) and context management
  no-map    repo_map_tokens: 0
  no-ctx    context_management: false
  without   both off

What the figures mean, and what they do not:
- A replay fixes the model's moves: every configuration sends the same turns with the same
  tool calls. The figures show how our prompt construction changes the input size of the
  same conversation, not how the map changes the number of turns a model needs (that takes
  a live model: `drover eval --model`).
- Tokens are the gateway's estimate, bytes / 4 of each request body, because the suite's
  cassettes give no usage (a cassette that does is metered as it says).
- "repeated" is computed from the `prompt_prefix` the gateway logs for every answered request
  in the job's exchanges.jsonl: the request's tools, system and messages encoded as the
  provider gets them (agent::SharedPrefix; cache breakpoints ignored), and how many of those
  bytes are whole leading parts equal to the job's previous answered request to the same
  model. A request's repeated tokens are its input tokens x repeated_bytes / bytes; the first
  request of a job repeats nothing. That is what an ideal prefix cache serves. "openai" rounds
  each request as OpenAI's cache does: nothing under a 1,024-token prefix, then steps of 128.

Usage: bench/context_tokens.py [DROVER_BINARY] [SUITE] [--jobs N] [--tasks GLOB]
                               [--sandbox required|none] [--configs with,no-map,...]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

CONFIGS = {
    "with": {},
    "no-map": {"repo_map_tokens": "0"},
    "no-ctx": {"context_management": "false"},
    "without": {"repo_map_tokens": "0", "context_management": "false"},
}


def override_limits(text, path, limits):
    """`text` (a migration.md) with `limits` set in its YAML front matter."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        sys.exit(f"{path}: no YAML front matter to set limits in")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        sys.exit(f"{path}: the front matter has no closing ---")
    at = next((i for i in range(1, end) if re.match(r"limits\s*:", lines[i])), None)
    if at is None:
        block = ["limits:"] + [f"  {k}: {v}" for k, v in limits.items()]
        return "\n".join(lines[:end] + block + lines[end:])
    rest = lines[at].split(":", 1)[1].strip()
    if rest.startswith("{"):
        inner = rest.rstrip().rstrip("}").strip().lstrip("{")
        pairs = [p for p in (s.strip() for s in inner.split(",")) if p]
        pairs = [p for p in pairs if p.split(":", 1)[0].strip() not in limits]
        pairs += [f"{k}: {v}" for k, v in limits.items()]
        lines[at] = "limits: {" + ", ".join(pairs) + "}"
        return "\n".join(lines)
    if rest and not rest.startswith("#"):
        sys.exit(f"{path}:{at + 1}: limits is neither a block nor a flow mapping")
    body_end = at + 1
    while body_end < end and (lines[body_end].startswith((" ", "\t")) or not lines[body_end].strip()):
        body_end += 1
    body = [l for l in lines[at + 1:body_end]
            if l.split(":", 1)[0].strip() not in limits]
    indent = re.match(r"\s*", body[0]).group(0) if body and body[0].strip() else "  "
    body += [f"{indent}{k}: {v}" for k, v in limits.items()]
    return "\n".join(lines[:at + 1] + body + lines[body_end:])


def task_migrations(suite):
    """{task id: migration file} for every task.yaml under `suite`."""
    found = {}
    for task_yaml in sorted(glob.glob(f"{suite}/**/task.yaml", recursive=True)):
        folder = os.path.dirname(task_yaml)
        with open(task_yaml) as f:
            text = f.read()
        fields = dict(re.findall(r"^(id|base|migration):\s*(\S+)", text, re.M))
        source = os.path.normpath(os.path.join(folder, fields["base"])) if "base" in fields \
            else folder
        migration = os.path.normpath(os.path.join(
            folder if "migration" in fields else source, fields.get("migration", "migration.md")))
        if not os.path.realpath(migration).startswith(os.path.realpath(suite) + os.sep):
            sys.exit(f"{task_yaml}: its migration {migration} is outside {suite}; give a suite "
                     "folder that holds it")
        found[fields.get("id", os.path.basename(folder))] = migration
    if not found:
        sys.exit(f"{suite}: no task.yaml found")
    return found


def openai_cached(tokens):
    return 0 if tokens < 1024 else 1024 + (tokens - 1024) // 128 * 128


def read_run(out, task_id):
    """Figures of one task's run from results.json's row and its job's exchanges.jsonl."""
    attempt = sorted(glob.glob(f"{out}/work/{task_id}/attempt-1*"))
    logs = glob.glob(f"{attempt[-1]}/state/runs/*/jobs/*/exchanges.jsonl") if attempt else []
    figures = {"requests": 0, "input": 0, "repeated": 0, "openai": 0, "map": 0, "steps": 0}
    transcripts = glob.glob(f"{attempt[-1]}/state/runs/*/jobs/*/attempt-*/transcript.jsonl") \
        if attempt else []
    for transcript in transcripts:
        with open(transcript) as f:
            for line in f:
                event = json.loads(line)
                if event.get("type") == "repo_map":
                    figures["map"] += event.get("bytes", 0) // 4
                elif event.get("type") == "context":
                    figures["steps"] += 1
    for log in logs:
        with open(log) as f:
            for line in f:
                entry = json.loads(line)
                prefix, usage = entry.get("prompt_prefix"), entry.get("usage")
                if not prefix or not usage:
                    continue
                tokens = usage["input_tokens"]
                repeated = tokens * prefix["repeated_bytes"] // max(prefix["bytes"], 1)
                figures["requests"] += 1
                figures["input"] += tokens
                figures["repeated"] += repeated
                figures["openai"] += openai_cached(repeated)
    return figures


def run_config(drover, suite, name, limits, root, args):
    copy = f"{root}/{name}/suite"
    shutil.copytree(suite, copy, symlinks=True)
    for migration in set(task_migrations(copy).values()):
        with open(migration) as f:
            text = f.read()
        with open(migration, "w") as f:
            f.write(override_limits(text, migration, limits) if limits else text)
    out = f"{root}/{name}/out"
    command = [drover, "eval", copy, "--out", out, "--keep-work", "--jobs", str(args.jobs),
               "--sandbox", args.sandbox]
    if args.tasks:
        command += ["--tasks", args.tasks]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if not os.path.exists(f"{out}/results.json"):
        sys.exit(f"drover eval ({name}) wrote no results (exit {run.returncode}):\n"
                 f"{run.stderr[-3000:]}")
    with open(f"{out}/results.json") as f:
        results = json.load(f)
    tasks = {}
    for task in results["tasks"]:
        row = task["runs"][0]
        figures = read_run(out, task["id"])
        figures["category"] = row["category"]
        figures["results_input"] = row["input_tokens"]
        tasks[task["id"]] = figures
    print(f"  {name}: {len(tasks)} tasks replayed in {seconds:.0f} s", file=sys.stderr)
    return tasks


def percent(part, whole):
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("drover", nargs="?", default="build/cli/drover")
    parser.add_argument("suite", nargs="?", default="evals/suite")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--sandbox", default="required", choices=["required", "none"])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    drover, suite = os.path.abspath(args.drover), os.path.abspath(args.suite)
    names = args.configs.split(",")
    for name in names:
        if name not in CONFIGS:
            sys.exit(f"unknown configuration {name}; known: {', '.join(CONFIGS)}")
    root = tempfile.mkdtemp(prefix="drover-context-tokens-")
    try:
        runs = {name: run_config(drover, suite, name, CONFIGS[name], root, args) for name in names}
    finally:
        shutil.rmtree(root, ignore_errors=True)

    first, last = names[0], names[-1]
    print("Replayed cassettes: the same turns in every configuration, so these figures show how")
    print("prompt construction changes the input of the same conversation, not how many turns a")
    print("model would take. Tokens: the gateway's estimate, request bytes / 4.")
    print("repeated: input tokens that repeat the job's previous request as a prefix (an ideal")
    print("prefix cache); openai: the same under OpenAI's rule (>= 1024 tokens, steps of 128).")
    print(f"Per task: input tokens of the job in each configuration, the ratio, and for {first}:")
    print("the repo map's tokens in the first prompt, context steps taken (elisions, compactions;")
    print("head/tail truncation of tool output is not counted), the repeated shares, the outcome")
    print("(categories over the configurations).\n")
    header = f"{'task':28} {'req':>3}" + "".join(f" {n:>8}" for n in names) + \
        f" {first + '/' + last:>12} {'map':>5} {'steps':>5} {'repeated':>9} {'openai':>7}   outcome"
    print(header)
    print("-" * len(header))
    totals = {n: {"input": 0, "repeated": 0, "openai": 0, "requests": 0, "map": 0, "steps": 0}
              for n in names}
    mismatches = []
    for task in sorted(runs[first]):
        row = {n: runs[n].get(task) for n in names}
        if any(r is None for r in row.values()):
            continue
        for n, r in row.items():
            for key in totals[n]:
                totals[n][key] += r[key]
            if r["input"] != r["results_input"]:
                mismatches.append(f"{task} ({n}): exchanges.jsonl sums {r['input']} input "
                                  f"tokens, results.json says {r['results_input']}")
        outcome = ",".join(sorted({r["category"] for r in row.values()}))
        base = row[first]
        print(f"{task:28} {base['requests']:>3}" +
              "".join(f" {row[n]['input']:>8}" for n in names) +
              f" {base['input'] / max(row[last]['input'], 1):>12.3f}" +
              f" {base['map']:>5} {base['steps']:>5}" +
              f" {percent(base['repeated'], base['input']):>9}" +
              f" {percent(base['openai'], base['input']):>7}   {outcome}")
    print("-" * len(header))
    t = totals[first]
    print(f"{'total':28} {t['requests']:>3}" + "".join(f" {totals[n]['input']:>8}" for n in names) +
          f" {t['input'] / max(totals[last]['input'], 1):>12.3f}" +
          f" {t['map']:>5} {t['steps']:>5}" +
          f" {percent(t['repeated'], t['input']):>9} {percent(t['openai'], t['input']):>7}")
    print()
    for n in names:
        s = totals[n]
        print(f"{n:8} input {s['input']:>8}  repeated {s['repeated']:>8} "
              f"({percent(s['repeated'], s['input']).strip()})  openai {s['openai']:>8} "
              f"({percent(s['openai'], s['input']).strip()})  uncached {s['input'] - s['repeated']:>8}")
    sys.stdout.flush()
    for line in mismatches:
        print(f"warning: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
