// One op = one OpDef in ops/registry.cpp, implemented in one file of ops/.
// prepare: runs once per session; checks every shape and attribute against the tensors it is
//   given (the file is untrusted), computes MACs, and may allocate packed weights or other
//   per-node state. Returns false with ctx.fail(...) on any problem.
// run: executes the node; it never fails (everything that could fail was checked in prepare).
#pragma once
#include <string>
#include <vector>
#include "../graph.h"

namespace sg {

struct ChannelFill; // ops/conv_gate.h: constant planes a gated node wrote this run

// Bytes a session may allocate for per-node state and scratch. `cap` is the runtime's own
// ceiling (a memory error past it), `limit` the host's (sg_session_create_limited; 0 = none),
// counted together with the activation memory `base` planned before any node is prepared.
struct MemoryBudget {
  double used = 0, base = 0, cap = 0, limit = 0;
  double scratch_floats = 0; // the largest scratch reservation so far (counted in `used`)
};

struct NodeState {               // per-node, per-session state owned by the session
  virtual ~NodeState() {}
};

struct OpCtx {
  const Model* model = nullptr;
  const Node* node = nullptr;
  // Buffers by input/output position, valid in run (in prepare only constants are non-null).
  std::vector<const float*> in;  // nullptr for an absent optional input
  std::vector<float*> out;
  NodeState* state = nullptr;    // what prepare stored with set_state
  // Filled by prepare:
  double macs = 0;               // multiply-accumulates of one dense run of this node
  // Gating (later): fraction of output channels this run may skip; 0 = dense.
  float gate = 0;
  double macs_executed = 0;      // set by run when it differs from macs (gated kernels)
  // Gating: a gated node's prepare points fill_out at its record of constant output planes;
  // the session links each node's fill_in to the record of the node producing its input 0.
  ChannelFill* fill_out = nullptr;
  const ChannelFill* fill_in = nullptr;
  // Set by prepare when this node reads input 0's constant planes (fill_in) only through their
  // values, never the planes themselves (a folding Conv): a producer whose every reader does
  // so may leave those planes unwritten (ChannelFill::skip_writes).
  bool folds_fill_in = false;
  // Set by prepare when output 0 holds input 0's constant planes unchanged (MaxPool): the
  // session hands the producer's record (fill_in) on to this node's readers as its fill_out.
  bool passes_fill_in = false;

  std::string* error = nullptr;
  int* error_code = nullptr;     // SG_ERR_* of the failure; fail() leaves SG_ERR_FORMAT
  std::vector<NodeState*>* owned_states = nullptr;
  // Memory budget of the session (session.cpp): prepare calls reserve() with the bytes it is
  // about to allocate for this node (tables, packed weights, scratch) *before* allocating.
  MemoryBudget* budget = nullptr;

  const Tensor& input(int i) const { return model->tensors[node->inputs[i]]; }
  const Tensor& output(int i) const { return model->tensors[node->outputs[i]]; }
  int input_count() const { return (int)node->inputs.size(); }
  int output_count() const { return (int)node->outputs.size(); }
  bool has_input(int i) const { return i < input_count() && node->inputs[i] >= 0; }
  // Constant data of input i as floats (nullptr if not an f32 constant).
  const float* constant_f32(int i) const;

  bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3))); // sets "<op> node '<name>': <message>", returns false
  // Counts `bytes` (a double: products of untrusted dims never overflow) against the session's
  // budget; false with SG_ERR_MEMORY (the runtime's cap) or SG_ERR_LIMIT (the host's limit).
  bool reserve(double bytes, const char* what);
  // The shared scratch buffers (kernels/scratch.h): counted once at the largest reservation,
  // then reserved. Every op reserves scratch through this.
  bool reserve_scratch(double floats);
  void set_state(NodeState* s);

  // Validation helpers for prepare; each fails with a message naming the node and returns
  // false. need_io: input count in [min_in, max_in], exactly n_out outputs, every present
  // input and output float32; inputs below min_in must be present.
  bool need_io(int min_in, int max_in, int n_out);
  // Attributes: present, of the right type, and with `count` values (-1: any count).
  // need_float(s) also accept ints (the writer stores 1 as an int).
  bool need_int(const char* key, int64_t* out);
  bool need_ints(const char* key, std::vector<int64_t>* out, int count);
  bool need_float(const char* key, float* out);
  bool need_floats(const char* key, std::vector<float>* out, int count);
  bool need_string(const char* key, std::string* out);
  // An axis attribute in [0, rank).
  bool need_axis(const char* key, int rank, int* out);
  // The stored output shape equals `expect`.
  bool need_output_shape(int i, const Shape& expect);
};

struct OpDef {
  const char* name;
  bool (*prepare)(OpCtx& ctx);
  void (*run)(OpCtx& ctx);
  uint32_t optional_inputs; // bit i: input i may be absent (-1); registry.h
};

const OpDef* op_find(const std::string& name); // nullptr when unknown
int op_count();
const OpDef& op_at(int index);

} // namespace sg
