#include "harness.h"
#include <stdlib.h>
#include <string.h>
#include "sparsegate.h"

static void fill_inputs(sg_session* s) {
  for (int i = 0; i < sg_session_input_count(s); i++) {
    int64_t numel = 1;
    for (int a = 0; a < sg_session_input_rank(s, i); a++) numel *= sg_session_input_dim(s, i, a);
    float* x = sg_session_input_data(s, i);
    // Mixed signs, zeros and a wide range: Relu, gates' top-k and divisions all branch on them.
    for (int64_t k = 0; k < numel; k++) x[k] = (float)((k * 7919) % 17 - 8) * (k % 5 == 4 ? 1e3f : 0.25f);
  }
}

// Every query a host makes after a run, so that each one sees the state a hostile file left.
static void read_everything(const sg_model* m, sg_session* s) {
  volatile uint64_t sink = sg_model_metadata_size(m) + strlen(sg_model_metadata(m));
  for (int i = 0; i < sg_session_input_count(s); i++) sink += strlen(sg_session_input_name(s, i));
  for (int i = 0; i < sg_session_output_count(s); i++) {
    int64_t numel = 1;
    for (int a = 0; a < sg_session_output_rank(s, i); a++) numel *= sg_session_output_dim(s, i, a);
    const float* y = sg_session_output_data(s, i);
    uint32_t bits = 0;
    for (int64_t k = 0; k < numel; k++) {
      uint32_t b;
      memcpy(&b, &y[k], 4);
      bits ^= b;
    }
    sink += bits + strlen(sg_session_output_name(s, i));
  }
  for (int n = 0; n < sg_session_node_count(s); n++)
    sink += strlen(sg_session_node_name(s, n)) + strlen(sg_session_node_op(s, n)) +
            (uint64_t)(sg_session_node_macs_dense(s, n) + sg_session_node_macs_executed(s, n));
  sink += (uint64_t)(sg_session_macs_dense(s) + sg_session_macs_executed(s) + sg_session_memory_bytes(s)) +
          sg_session_arena_bytes(s);
  (void)sink;
}

FuzzResult fuzz_exercise(const uint8_t* data, size_t size, double max_bytes, double max_macs, int runs) {
  FuzzResult r = {FUZZ_REFUSED_LOAD, SG_OK};
  void* copy = nullptr;
  if (size > UINT32_MAX || posix_memalign(&copy, 64, size ? size : 1) != 0) return r;
  memcpy(copy, data, size);
  sg_model* m = sg_model_load((const uint8_t*)copy, (uint32_t)size);
  sg_session* s = m ? sg_session_create_limited(m, max_bytes, max_macs) : nullptr;
  if (!m || !s) {
    r.stage = m ? FUZZ_REFUSED_CREATE : FUZZ_REFUSED_LOAD;
    r.error_code = sg_last_error_code();
  } else {
    fill_inputs(s);
    r.stage = FUZZ_RAN;
    for (int k = 0; k < runs && r.stage == FUZZ_RAN; k++) {
      sg_session_set_gate(s, k == 0 ? 1.0f : 0.0f);
      r.error_code = sg_session_run(s);
      if (r.error_code != SG_OK) r.stage = FUZZ_RUN_FAILED;
      read_everything(m, s);
    }
  }
  sg_session_free(s);
  sg_model_free(m);
  free(copy);
  return r;
}

// A huge allocation is an SG_ERR_MEMORY the runtime must handle, not a sanitizer abort.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1"; }
