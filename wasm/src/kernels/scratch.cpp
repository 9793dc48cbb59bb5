#include "scratch.h"
#include <stdlib.h>
#include "parallel.h"

namespace sg {

static const int kSlots = 16; // ≥ max_threads() in any build
static float* g_scratch[kSlots];
static size_t g_scratch_floats = 0; // length of every allocated buffer
static int g_slots = 0;             // buffers allocated (thread indices 0 … g_slots - 1)

bool scratch_reserve(size_t floats) {
  int slots = max_threads() < kSlots ? max_threads() : kSlots;
  if (floats <= g_scratch_floats && slots <= g_slots) return true;
  size_t want = g_scratch_floats;
  if (floats > want) {
    // Grow geometrically so that a series of sessions does not reallocate at every node.
    want = floats < 2 * g_scratch_floats ? 2 * g_scratch_floats : floats;
    want = (want + 15) & ~(size_t)15; // whole 64-byte lines
  }
  if (want == 0) { // nothing reserved yet: nothing to allocate
    g_slots = slots;
    return true;
  }
  float* fresh[kSlots] = {};
  int from = want > g_scratch_floats ? 0 : g_slots; // which buffers need (re)allocating
  for (int i = from; i < slots; i++) {
    fresh[i] = (float*)aligned_alloc(64, want * sizeof(float));
    if (!fresh[i]) {
      for (int j = from; j < i; j++) free(fresh[j]);
      return false;
    }
  }
  for (int i = from; i < slots; i++) {
    if (i < g_slots) free(g_scratch[i]);
    g_scratch[i] = fresh[i];
  }
  if (slots > g_slots) g_slots = slots;
  g_scratch_floats = want;
  return true;
}

float* scratch_f32() { return g_scratch[thread_index()]; }

} // namespace sg
