// `drover-sandbox POLICY -- CMD ARGS...`: the sandbox helper alone, the same as
// `drover __sandbox`, in an executable that links little and so starts fast.
#include "sandbox/helper_main.h"

int main(int argc, char** argv) {
  return drover::sandbox::SandboxHelperMain("drover-sandbox", argc, argv);
}
