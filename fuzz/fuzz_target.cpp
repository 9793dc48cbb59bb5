// libFuzzer target: load -> create (bounded by the fuzzer's limits) -> run -> free, over
// inputs shaped by the structure-aware mutator. Findings replay in build/native/sanitize.
#include <stddef.h>
#include <stdint.h>
#include "harness.h"
#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_exercise(data, size, kFuzzMaxBytes, kFuzzMaxMacs, 1);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  return sgm_mutate(data, size, max_size, seed);
}
