// A session: one model prepared for execution. Every node's prepare has validated its
// shapes; activation memory is planned once (one arena, liveness-based first fit); run
// only executes. The model (and the file bytes behind it) must outlive the session.
#pragma once
#include <vector>
#include "graph.h"
#include "ops/op.h"

// Caps total activation memory (arena plus input and output buffers), and what prepare may
// allocate per node (tables, packed weights, scratch). Both are checked before allocating.
constexpr uint64_t kSgMaxActivationBytes = 1ull << 30;
constexpr uint64_t kSgMaxStateBytes = 1ull << 30;
constexpr uint64_t kSgAlign = 64;

struct sg_model {
  sg::Model model;
};

struct sg_session {
  const sg::Model* model = nullptr;
  std::vector<sg::OpCtx> ctx;           // one per node, in node order
  std::vector<sg::NodeState*> states;   // owned; deleted with the session
  std::vector<float*> tensor_data;      // per tensor: constant, arena slot or dedicated buffer
  std::vector<void*> dedicated;         // graph input/output buffers (freed with the session)
  uint8_t* arena = nullptr;
  uint64_t arena_bytes = 0;
  float gate = 1;                       // docs/ir.md: 1 = calibrated sparsity; ungated models ignore it
  double macs_dense = 0, macs_executed = 0;
  std::vector<double> node_macs_executed;
  std::string error;                    // OpCtx::fail writes here
  int error_code = 0;                   // and OpCtx::reserve the code of its failure here
  // Host limits (sg_session_create_limited; 0 = none) and what the session holds.
  double max_bytes = 0, max_macs = 0;
  sg::MemoryBudget budget;              // per-node state and scratch, counted by prepare
  uint64_t activation_bytes = 0;        // arena plus dedicated input/output buffers

  ~sg_session();
};

namespace sg {

// Fills `s` for `model`: plans activation memory, prepares every node, then allocates. Every
// cap and limit (s->max_bytes, s->max_macs) is checked before the allocation it bounds.
// False with the last error set.
bool session_init(sg_session* s, const Model* model);
int session_run(sg_session* s);
int session_run_range(sg_session* s, int first, int last); // profiling: nodes [first, last) only

// Liveness planner, exposed for tests: intervals [first, last] (node indices, inclusive) and
// byte sizes (multiples of kSgAlign); writes offsets and returns the arena size. Two
// tensors whose intervals overlap never share bytes.
uint64_t plan_arena(const std::vector<int>& first, const std::vector<int>& last,
                    const std::vector<uint64_t>& bytes, std::vector<uint64_t>* offsets);

} // namespace sg
