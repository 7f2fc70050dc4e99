// libFuzzer entry: the whole pipeline the model's report goes through, on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "verifiers/distill.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto distilled = drover::verifiers::DistillOutput(input);
  (void)drover::verifiers::Render(distilled);
  (void)drover::verifiers::Render(distilled, /*budget_bytes=*/64);
  return 0;
}
