#!/usr/bin/env python3
"""Wall time per job on real builds: a CMake project (a few .cc files and a ctest) and a Go
module (two packages with tests), each one job of `drover run` with detected verifiers and a
replayed agent that edits one file, runs verify and finishes. Every job measures its baseline,
the agent's verify and the final check on a fresh checkout. Prints, per fixture and binary, the
job's wall time and the seconds each verifier run took (baseline, agent, final).

Give two binaries to compare (for example one built without per-job build caches first).

Usage: bench/build_cache_bench.py DROVER_BINARY [OTHER_DROVER_BINARY ...] [--runs N]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SOURCES = 6  # .cc files of the CMake fixture; each pulls in heavy standard headers.


def git_repo(path, files):
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(path, name)) or path, exist_ok=True)
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    run = lambda *a: subprocess.run(["git", *a], cwd=path, check=True, capture_output=True)
    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "init")


def cmake_files():
    files = {
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.16)\nproject(shapes CXX)\n"
        "set(CMAKE_CXX_STANDARD 17)\nenable_testing()\n"
        "add_library(shapes " + " ".join(f"s{i}.cc" for i in range(SOURCES)) + ")\n"
        "add_executable(shapes_test shapes_test.cc)\n"
        "target_link_libraries(shapes_test shapes)\n"
        "add_test(NAME shapes COMMAND shapes_test)\n",
        "shapes_test.cc": "#include <cstdio>\nint Shape0(int);\n// label: total\n"
        "int main() { std::printf(\"%d\\n\", Shape0(2)); return Shape0(2) == 4 ? 0 : 1; }\n",
    }
    for i in range(SOURCES):
        files[f"s{i}.cc"] = (
            "#include <algorithm>\n#include <iostream>\n#include <map>\n#include <regex>\n"
            "#include <sstream>\n#include <string>\n#include <vector>\n"
            f"int Shape{i}(int x) {{\n"
            "  std::map<std::string, std::vector<int>> m;\n"
            "  std::regex r(\"[a-z]+([0-9]+)\");\n  std::smatch s;\n"
            "  std::string t = \"ab\" + std::to_string(x);\n"
            "  if (std::regex_search(t, s, r)) m[s[1]].push_back(x);\n"
            "  std::ostringstream o;\n  o << m.size();\n"
            "  return x * 2 + static_cast<int>(o.str().size()) - 1;\n}\n")
    return files


def go_files():
    return {
        "go.mod": "module example.com/ledger\n\ngo 1.19\n",
        "calc/calc.go": "package calc\n\nimport \"strings\"\n\n"
        "func Total(xs []int) int {\n\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n"
        "\treturn t + len(strings.TrimSpace(\"\"))\n}\n",
        "calc/calc_test.go": "package calc\n\nimport \"testing\"\n\n"
        "func TestTotal(t *testing.T) {\n\tif Total([]int{1, 2}) != 3 {\n"
        "\t\tt.Fatal(\"sum\")\n\t}\n}\n",
        "report/report.go": "package report\n\nimport (\n\t\"encoding/json\"\n\t\"fmt\"\n"
        "\t\"net/url\"\n)\n\n// label: total\nfunc Line(n int) string {\n"
        "\tb, _ := json.Marshal(map[string]int{\"total\": n})\n"
        "\treturn fmt.Sprintf(\"%s %s\", b, url.QueryEscape(\"a b\"))\n}\n",
        "report/report_test.go": "package report\n\nimport \"testing\"\n\n"
        "func TestLine(t *testing.T) {\n\tif Line(1) == \"\" {\n\t\tt.Fatal(\"empty\")\n\t}\n}\n",
        "main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/ledger/calc\"\n"
        "\t\"example.com/ledger/report\"\n)\n\n"
        "func main() { fmt.Println(report.Line(calc.Total([]int{1}))) }\n",
    }


FIXTURES = {
    "cmake": (cmake_files, "shapes_test.cc"),
    "go": (go_files, "report/report.go"),
}


def run_job(drover, name):
    make_files, edited = FIXTURES[name]
    root = tempfile.mkdtemp(prefix="drover-cache-bench-")
    try:
        repo = os.path.join(root, "repos", name)
        git_repo(repo, make_files())
        os.makedirs(f"{root}/cassettes")
        call = lambda tool, args: {"reply": {"text": "", "tool_calls": [
            {"name": tool, "arguments": args}]}}
        exchanges = [call("edit", {"path": edited, "search": "label: total",
                                   "replace": "label: sum"}),
                     call("verify", {}),
                     call("finish", {"summary": "Renamed the label."})]
        with open(f"{root}/cassettes/{name}.json", "w") as f:
            json.dump({"drover_cassette": 1, "exchanges": exchanges}, f)
        with open(f"{root}/repos.txt", "w") as f:
            f.write(repo + "\n")
        with open(f"{root}/migration.md", "w") as f:
            f.write("---\nid: label\ntitle: Rename the label\nlimits:\n  max_turns: 6\n"
                    "---\nRename the label comment.\n")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TERM")}
        env["DROVER_MODEL"] = f"replay:{root}/cassettes"
        out = subprocess.run(
            [drover, "run", f"{root}/migration.md", "--repos", f"{root}/repos.txt",
             "--state-dir", f"{root}/state", "--run-id", "bench", "--agents", "1",
             "--builds", "2", "--keep-workspaces"],
            env=env, capture_output=True, text=True, timeout=1800)
        job_dir = f"{root}/state/runs/bench/jobs/{name}"
        with open(f"{root}/state/runs/bench/summary.json") as f:
            job = json.load(f)["jobs"][0]
        if job["status"] != "published":
            raise SystemExit(f"{name}: {job['status']}: {job['reason']}\n{out.stdout}{out.stderr}")

        def seconds(report):
            return sum(r.get("duration_ms", 0) for r in report["results"]) / 1000

        with open(f"{job_dir}/baseline.json") as f:
            baseline = seconds(json.load(f))
        with open(f"{job_dir}/final-check.json") as f:
            final = seconds(json.load(f))
        agent = 0.0
        with open(f"{job_dir}/attempt-1/transcript.jsonl") as f:
            for line in f:
                event = json.loads(line)
                if event.get("type") == "verifier_report":
                    agent += seconds(event)
        return job["seconds"], baseline, agent, final
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    args = sys.argv[1:]
    runs = 1
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at:at + 2]
    if not args:
        raise SystemExit(__doc__)
    print(f"{'fixture':8} {'binary':40} {'job s':>7} {'baseline':>9} {'agent':>7} {'final':>7}")
    for name in FIXTURES:
        for drover in args:
            for _ in range(runs):
                job, baseline, agent, final = run_job(os.path.abspath(drover), name)
                print(f"{name:8} {drover[-40:]:40} {job:7.1f} {baseline:9.1f} {agent:7.1f} "
                      f"{final:7.1f}", flush=True)


if __name__ == "__main__":
    main()
