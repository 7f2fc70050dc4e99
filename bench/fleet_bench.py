#!/usr/bin/env python3
"""Runner overhead over many repositories: N generated local git repositories with a trivial
verifier and a replayed model with no latency, one `drover run`; prints the wall time, the
time per repository (a job slot's share of the wall time), the verifiers' own share, the CPU
used per repository by every process of the run, and the runner's peak RSS.

Usage: bench/fleet_bench.py [DROVER_BINARY] [REPOSITORIES] [JOBS]
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def main():
    drover = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/cli/drover")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    root = tempfile.mkdtemp(prefix="drover-fleet-bench-")
    try:
        os.makedirs(f"{root}/cassettes")
        # One repository, copied: creating 1,000 repositories with git is slow and beside the point.
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
        cassette = {"drover_cassette": 1, "exchanges": [
            {"reply": {"text": "", "tool_calls": [{"name": "write_file", "arguments": {
                "path": "version.txt", "content": "v2\n"}}]}},
            {"reply": {"text": "", "tool_calls": [{"name": "finish", "arguments": {
                "summary": "Bumped."}}]}}]}
        lines = []
        for i in range(count):
            name = f"repo{i:04d}"
            shutil.copytree(template, f"{root}/repos/{name}")
            with open(f"{root}/cassettes/{name}.json", "w") as f:
                json.dump(cassette, f)
            lines.append(f"{root}/repos/{name}")
        with open(f"{root}/repos.txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(f"{root}/migration.md", "w") as f:
            f.write("---\nid: bench\ntitle: Bench\nverifiers:\n  - name: test\n"
                    "    command: make -s test\nlimits:\n  max_attempts: 1\n---\nBump it.\n")
        env = dict(os.environ, DROVER_MODEL=f"replay:{root}/cassettes")
        started = time.monotonic()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = subprocess.run([drover, "run", f"{root}/migration.md", "--repos", f"{root}/repos.txt",
                              "--state-dir", f"{root}/state", "--run-id", "bench",
                              "--jobs", str(jobs), "--json"],
                             env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if run.returncode not in (0, 1):
            print(run.stderr[-2000:], file=sys.stderr)
            return 1
        summary = json.loads(run.stdout)
        published = summary["counts"]["published"]
        verifier_seconds = 0.0
        for job in summary["jobs"]:
            for name in ("baseline.json", "final-check.json"):
                path = os.path.join(job["job_dir"], name)
                if os.path.exists(path):
                    with open(path) as f:
                        for result in json.load(f)["results"]:
                            verifier_seconds += result["duration_ms"] / 1000.0
        per_repo = wall * jobs / count
        print(f"repositories:                 {count} ({published} published), --jobs {jobs}")
        print(f"wall time:                    {wall:.1f} s")
        print(f"per repository (wall x jobs / n): {per_repo * 1000:.0f} ms")
        print(f"  of which verifier runs:     {verifier_seconds / count * 1000:.0f} ms")
        print(f"  runner overhead:            {(per_repo - verifier_seconds / count) * 1000:.0f} ms")
        print(f"CPU per repository:           {cpu / count * 1000:.0f} ms (drover, its sandboxes, "
              f"agents and verifiers; {os.cpu_count()} cores)")
        print(f"peak RSS (largest process):   {peak_kib / 1024:.0f} MiB")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
