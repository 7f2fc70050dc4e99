#!/usr/bin/env python3
"""Scheduling under model latency: N generated local repositories with a trivial verifier, a
loopback model server (OpenAI Chat Completions; bench/latency_model_server, built beside
drover) that answers every call after DELAY seconds and makes each job take five calls (four
tool calls, then finish), and one `drover run --agents A`. Prints the wall time against the
ideal N x 5 x DELAY / A and their ratio, and where a model call's time went beyond DELAY.

Usage: bench/fleet_latency.py [DROVER_BINARY] [REPOSITORIES] [AGENTS] [DELAY] [SANDBOX]
  defaults: build/cli/drover 500 100 2.0 none   (SANDBOX: none or required)
"""
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

CALLS_PER_JOB = 5


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def agent_timeline(jobs_dir, agents):
    """Model call durations (sorted) from the agents' transcripts, and how busy the agent slots
    were: agent-process seconds over slots x the span from the first start to the last end."""
    def seconds(stamp):
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    calls, spans = [], []
    for job in sorted(os.listdir(jobs_dir)):
        path = os.path.join(jobs_dir, job, "attempt-1", "transcript.jsonl")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            events = [json.loads(line) for line in f]
        asked = None
        for event in events:
            if event["type"] == "model_request":
                asked = seconds(event["t"])
            elif event["type"] == "model_reply" and asked is not None:
                calls.append(seconds(event["t"]) - asked)
        spans.append((seconds(events[0]["t"]), seconds(events[-1]["t"])))
    busy = sum(end - start for start, end in spans)
    span = max(end for _, end in spans) - min(start for start, _ in spans)
    return sorted(calls), busy / (agents * span)


def main():
    drover = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/cli/drover")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    agents = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    sandbox = sys.argv[5] if len(sys.argv) > 5 else "none"
    server_binary = os.path.join(os.path.dirname(os.path.dirname(drover)), "bench",
                                 "latency_model_server")
    root = tempfile.mkdtemp(prefix="drover-latency-bench-")
    server = subprocess.Popen([server_binary, str(delay)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().split()[1])
    try:
        template = f"{root}/template"
        os.makedirs(template)
        with open(f"{template}/Makefile", "w") as f:
            f.write("test:\n\t@true\n")
        with open(f"{template}/version.txt", "w") as f:
            f.write("v1\n")
        git("init", "-q", "-b", "main", cwd=template)
        git("add", "-A", cwd=template)
        git("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m",
            "init", cwd=template)
        lines = []
        for i in range(count):
            shutil.copytree(template, f"{root}/repos/repo{i:04d}")
            lines.append(f"{root}/repos/repo{i:04d}")
        with open(f"{root}/repos.txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(f"{root}/migration.md", "w") as f:
            f.write("---\nid: latency\ntitle: Latency\nverifiers:\n  - name: test\n"
                    "    command: make -s test\nlimits:\n  max_attempts: 1\n---\nBump it.\n")
        env = dict(os.environ, DROVER_MODEL="openai:bench", OPENAI_API_KEY="sk-bench",
                   OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1")
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        run = subprocess.run([drover, "run", f"{root}/migration.md", "--repos", f"{root}/repos.txt",
                              "--state-dir", f"{root}/state", "--run-id", "latency",
                              "--agents", str(agents), "--sandbox", sandbox, "--json"],
                             env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        if run.returncode not in (0, 1):
            print(run.stderr[-3000:], file=sys.stderr)
            return 1
        summary = json.loads(run.stdout)
        ideal = count * CALLS_PER_JOB * delay / agents
        seconds = sorted(job["seconds"] for job in summary["jobs"])
        print(f"repositories:    {count} ({summary['counts']['published']} published), "
              f"--agents {agents}, --sandbox {sandbox}, model delay {delay:.1f} s")
        server.stdin.close()
        calls = int(server.stdout.read().split()[1])
        print(f"model calls:     {calls} ({CALLS_PER_JOB} per job expected)")
        print(f"wall time:       {wall:.1f} s")
        print(f"ideal:           {ideal:.1f} s ({count} x {CALLS_PER_JOB} x {delay:.1f} s / {agents})")
        print(f"ratio:           {wall / ideal:.3f} (goal: at most 1.10)")
        print(f"CPU:             {cpu:.1f} s of drover and its children "
              f"({cpu / count * 1000:.0f} ms per job; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f})")
        print(f"job seconds:     median {seconds[len(seconds) // 2]:.2f}, "
              f"max {seconds[-1]:.2f} (ideal {CALLS_PER_JOB * delay:.1f})")
        calls, agents_busy = agent_timeline(f"{root}/state/runs/latency/jobs", agents)
        print(f"model call:      median {calls[len(calls) // 2]:.2f} s, p90 "
              f"{calls[len(calls) * 9 // 10]:.2f} s, max {calls[-1]:.2f} s, as the agent saw it")
        print(f"agent slots:     {agents_busy:.0%} busy from the first agent to the last")
        return 0
    finally:
        if server.poll() is None:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
