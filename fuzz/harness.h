// One pass of a model file through the C ABI, shared by the libFuzzer target and the
// sanitizer driver so that a fuzz finding replays in the driver byte for byte.
#pragma once
#include <stddef.h>
#include <stdint.h>

// The fuzzer's limits (sg_session_create_limited): small enough that every execution stays
// in milliseconds under ASan, large enough for every seed of the corpus.
constexpr double kFuzzMaxBytes = 64.0 * (1 << 20);
constexpr double kFuzzMaxMacs = 10e6;

enum FuzzStage { FUZZ_REFUSED_LOAD, FUZZ_REFUSED_CREATE, FUZZ_RUN_FAILED, FUZZ_RAN };

struct FuzzResult {
  FuzzStage stage;
  int error_code;  // sg_last_error_code of the refusal (SG_OK after a run)
};

// Copies `data` into an exact-size 64-aligned buffer (ASan then catches the first byte read
// past the file), loads it, creates a session with the limits (0 = none), fills every input
// with a fixed pattern, sets the gate, runs, reads every ABI query and frees everything.
// `runs` > 1 runs again with the gate at 0 (the dense path of gated layers).
FuzzResult fuzz_exercise(const uint8_t* data, size_t size, double max_bytes, double max_macs,
                         int runs);
