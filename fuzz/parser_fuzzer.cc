// libFuzzer entry for one parser, named at compile time by DROVER_FUZZ_PARSER (e.g. ParseGcc),
// so that a crash is attributed to the parser that owns it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "verifiers/diagnostics.h"

#ifndef DROVER_FUZZ_PARSER
#error "define DROVER_FUZZ_PARSER as the name of a parser in verifiers/diagnostics.h"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto found = drover::verifiers::DROVER_FUZZ_PARSER(input);
  // Touch every field so that ASan sees any dangling view a parser might leave behind.
  size_t bytes = 0;
  if (found) {
    for (const auto& d : found->diagnostics) {
      bytes += d.file.size() + d.message.size() + d.test.size();
    }
    bytes += found->summary.size() + found->parser.size();
  }
  return bytes == SIZE_MAX ? 1 : 0;
}
