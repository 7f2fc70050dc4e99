#include "core/json.h"

#include <string>

namespace drover {

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kParse, std::string(what) + ": invalid JSON: " + e.what());
  }
}

}  // namespace drover
