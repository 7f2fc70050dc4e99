#!/usr/bin/env python3
"""Scheduling under model latency: N generated local repositories with a trivial verifier, a
loopback model server (OpenAI Chat Completions) that answers every call after DELAY seconds and
makes each job take five calls (four tool calls, then finish), and one `drover run --agents A`.
Prints the wall time against the ideal N x 5 x DELAY / A and their ratio.

Usage: bench/fleet_latency.py [DROVER_BINARY] [REPOSITORIES] [AGENTS] [DELAY] [SANDBOX]
  defaults: build/cli/drover 500 100 2.0 none   (SANDBOX: none or required)
"""
import http.server
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CALLS_PER_JOB = 5


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def tool_call(n, name, arguments):
    return {"id": f"call_{n}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


# The n-th call of a job (n = assistant turns already in the conversation).
def reply_for(n):
    script = [("list_files", {}),
              ("read_file", {"path": "version.txt"}),
              ("write_file", {"path": "version.txt", "content": "v2\n"}),
              ("read_file", {"path": "version.txt"}),
              ("finish", {"summary": "Bumped the version."})]
    name, arguments = script[min(n, len(script) - 1)]
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "model": "bench",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None,
                                     "tool_calls": [tool_call(n, name, arguments)]}}],
            "usage": {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220}}


def make_handler(delay, counter):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = json.loads(body or b"{}")
            turns = sum(1 for m in request.get("messages", []) if m.get("role") == "assistant")
            time.sleep(delay)
            out = json.dumps(reply_for(turns)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            with counter["lock"]:
                counter["calls"] += 1

        def log_message(self, *args):
            pass

    return Handler


def main():
    drover = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/cli/drover")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    agents = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    sandbox = sys.argv[5] if len(sys.argv) > 5 else "none"
    root = tempfile.mkdtemp(prefix="drover-latency-bench-")
    counter = {"lock": threading.Lock(), "calls": 0}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(delay, counter))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
                   OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/v1")
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
        print(f"model calls:     {counter['calls']} ({CALLS_PER_JOB} per job expected)")
        print(f"wall time:       {wall:.1f} s")
        print(f"ideal:           {ideal:.1f} s ({count} x {CALLS_PER_JOB} x {delay:.1f} s / {agents})")
        print(f"ratio:           {wall / ideal:.3f} (goal: at most 1.10)")
        print(f"CPU:             {cpu:.1f} s of drover and its children "
              f"({cpu / count * 1000:.0f} ms per job; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f})")
        print(f"job seconds:     median {seconds[len(seconds) // 2]:.2f}, "
              f"max {seconds[-1]:.2f} (ideal {CALLS_PER_JOB * delay:.1f})")
        return 0
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
