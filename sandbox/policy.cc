#include "sandbox/policy.h"

namespace drover::sandbox {

Json ToJson(const SandboxPolicy& policy) {
  auto paths = [](const std::vector<std::filesystem::path>& list) {
    Json out = Json::array();
    for (const auto& p : list) out.push_back(p.string());
    return out;
  };
  return Json{{"workspace", policy.workspace.string()},
              {"read_only_paths", paths(policy.read_only_paths)},
              {"read_only_subpaths", policy.read_only_subpaths},
              {"writable_paths", paths(policy.writable_paths)},
              {"sockets", paths(policy.sockets)},
              {"hidden_paths", paths(policy.hidden_paths)},
              {"proxy_socket", policy.proxy_socket.string()},
              {"proxy_port", policy.proxy_port},
              {"cgroups", paths(policy.cgroups)},
              {"memory_bytes", policy.memory_bytes},
              {"max_processes", policy.max_processes},
              {"tmp_bytes", policy.tmp_bytes},
              {"disk_bytes", policy.disk_bytes},
              {"status_file", policy.status_file.string()},
              {"cpu_seconds", policy.cpu_seconds},
              {"file_size_bytes", policy.file_size_bytes},
              {"open_files", policy.open_files},
              {"address_space_bytes", policy.address_space_bytes}};
}

Result<SandboxPolicy> SandboxPolicyFromJson(const Json& json) {
  if (!json.is_object()) return Fail(ErrorCode::kParse, "sandbox policy: not a JSON object");
  SandboxPolicy policy;
  try {
    policy.workspace = json.value("workspace", std::string());
    for (const auto& p : json.value("read_only_paths", Json::array())) {
      policy.read_only_paths.emplace_back(p.get<std::string>());
    }
    policy.read_only_subpaths = json.value("read_only_subpaths", std::vector<std::string>());
    auto read_paths = [&](const char* key, std::vector<std::filesystem::path>& out) {
      for (const auto& p : json.value(key, Json::array())) out.emplace_back(p.get<std::string>());
    };
    read_paths("writable_paths", policy.writable_paths);
    read_paths("sockets", policy.sockets);
    read_paths("hidden_paths", policy.hidden_paths);
    read_paths("cgroups", policy.cgroups);
    policy.proxy_socket = json.value("proxy_socket", std::string());
    policy.proxy_port = json.value("proxy_port", policy.proxy_port);
    policy.memory_bytes = json.value("memory_bytes", policy.memory_bytes);
    policy.max_processes = json.value("max_processes", policy.max_processes);
    policy.tmp_bytes = json.value("tmp_bytes", policy.tmp_bytes);
    policy.disk_bytes = json.value("disk_bytes", policy.disk_bytes);
    policy.status_file = json.value("status_file", std::string());
    policy.cpu_seconds = json.value("cpu_seconds", policy.cpu_seconds);
    policy.file_size_bytes = json.value("file_size_bytes", policy.file_size_bytes);
    policy.open_files = json.value("open_files", policy.open_files);
    policy.address_space_bytes = json.value("address_space_bytes", policy.address_space_bytes);
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kParse, std::string("sandbox policy: ") + e.what());
  }
  if (!policy.workspace.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "sandbox policy: workspace must be an absolute path");
  }
  for (const auto& list : {policy.read_only_paths, policy.writable_paths, policy.sockets,
                           policy.hidden_paths, policy.cgroups}) {
    for (const auto& p : list) {
      if (!p.is_absolute()) {
        return Fail(ErrorCode::kInvalidArgument, "sandbox policy: not absolute: " + p.string());
      }
    }
  }
  if (!policy.proxy_socket.empty() && !policy.proxy_socket.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "sandbox policy: proxy_socket must be absolute");
  }
  if (!policy.status_file.empty() && !policy.status_file.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "sandbox policy: status_file must be absolute");
  }
  for (const auto& sub : policy.read_only_subpaths) {
    std::filesystem::path p(sub);
    bool dotdot = false;
    for (const auto& part : p) dotdot = dotdot || part == "..";
    if (sub.empty() || p.is_absolute() || dotdot) {
      return Fail(ErrorCode::kInvalidArgument, "sandbox policy: bad read-only subpath: " + sub);
    }
  }
  return policy;
}

}  // namespace drover::sandbox
