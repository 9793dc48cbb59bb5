#include "session.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include "common.h"
#include "sparsegate.h"
#include "ops/conv_gate.h"

sg_session::~sg_session() {
  for (sg::NodeState* st : states) delete st;
  for (void* p : dedicated) free(p);
  free(arena);
}

namespace sg {

static uint64_t round_up(uint64_t n) { return (n + kSgAlign - 1) / kSgAlign * kSgAlign; }

uint64_t plan_arena(const std::vector<int>& first, const std::vector<int>& last,
                    const std::vector<uint64_t>& bytes, std::vector<uint64_t>* offsets) {
  size_t n = bytes.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  // Largest first, then by first use: fewer holes than placing in program order.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (bytes[a] != bytes[b]) return bytes[a] > bytes[b];
    if (first[a] != first[b]) return first[a] < first[b];
    return a < b;
  });
  offsets->assign(n, 0);
  std::vector<size_t> placed;
  std::vector<std::pair<uint64_t, uint64_t>> busy;  // [begin, end) of live conflicting slots
  uint64_t total = 0;
  for (size_t i : order) {
    busy.clear();
    for (size_t j : placed)
      if (first[j] <= last[i] && first[i] <= last[j]) busy.push_back({(*offsets)[j], (*offsets)[j] + bytes[j]});
    std::sort(busy.begin(), busy.end());
    uint64_t at = 0;  // first fit: lowest offset whose gap holds bytes[i]
    for (const auto& b : busy) {
      if (b.first >= at + bytes[i]) break;
      if (b.second > at) at = b.second;
    }
    (*offsets)[i] = at;
    placed.push_back(i);
    if (at + bytes[i] > total) total = at + bytes[i];
  }
  return total;
}

static bool prepare_nodes(sg_session* s) {
  const Model& m = *s->model;
  s->ctx.resize(m.nodes.size());
  s->node_macs_executed.assign(m.nodes.size(), 0);
  s->budget.cap = (double)kSgMaxStateBytes;
  s->budget.limit = s->max_bytes;
  s->budget.base = (double)s->activation_bytes;
  for (size_t k = 0; k < m.nodes.size(); k++) {
    OpCtx& c = s->ctx[k];
    const Node& n = m.nodes[k];
    c.model = &m;
    c.node = &n;
    c.error = &s->error;
    c.error_code = &s->error_code;
    c.owned_states = &s->states;
    c.budget = &s->budget;
    c.in.assign(n.inputs.size(), nullptr);
    c.out.assign(n.outputs.size(), nullptr);
    for (size_t i = 0; i < n.inputs.size(); i++)
      if (n.inputs[i] >= 0 && m.tensors[n.inputs[i]].kind == TK_CONSTANT)
        c.in[i] = (const float*)m.tensors[n.inputs[i]].data;
    s->error.clear();
    s->error_code = SG_ERR_FORMAT;
    if (!op_at(n.op_index).prepare(c)) {
      if (s->error.empty()) s->error = n.op + " node '" + n.name + "': prepare failed";
      set_error_text(s->error_code, s->error);
      return false;
    }
    if (!(c.macs >= 0) || !isfinite(c.macs))
      return set_error(SG_ERR_FORMAT, "%s node '%s': invalid MAC count", n.op.c_str(), n.name.c_str());
    s->macs_dense += c.macs;
    // Checked node by node: a later node's prepare never runs (nor allocates) past the limit.
    if (s->max_macs > 0 && s->macs_dense > s->max_macs)
      return set_error(SG_ERR_LIMIT, "the model needs more than %.0f MACs per run (%.0f up to node '%s'), "
                       "over the session's limit of %.0f", s->max_macs, s->macs_dense, n.name.c_str(), s->max_macs);
  }
  return true;
}

// Activation memory, planned from shapes and liveness alone (before any node is prepared, so
// that nothing is allocated for a model whose activations are refused).
struct MemoryPlan {
  std::vector<size_t> dedicated, slot_tensor;
  std::vector<uint64_t> dedicated_bytes, offsets;
  uint64_t dedicated_total = 0, arena = 0;
};

static bool plan_memory(sg_session* s, MemoryPlan* p) {
  const Model& m = *s->model;
  size_t nt = m.tensors.size();
  std::vector<int> first(nt, -1), last(nt, -1);
  std::vector<uint8_t> dedicated(nt, 0);
  for (int t : m.inputs) dedicated[t] = 1;
  for (int t : m.outputs) dedicated[t] = 1;
  for (size_t k = 0; k < m.nodes.size(); k++) {
    for (int t : m.nodes[k].outputs) first[t] = last[t] = (int)k;
    for (int t : m.nodes[k].inputs)
      if (t >= 0) last[t] = (int)k;
  }
  std::vector<int> f, l;
  std::vector<uint64_t> bytes;
  for (size_t t = 0; t < nt; t++) {
    const Tensor& tt = m.tensors[t];
    if (tt.kind == TK_CONSTANT) continue;
    uint64_t b = round_up((uint64_t)tt.shape.numel() * 4);
    if (b == 0) b = kSgAlign;
    if (dedicated[t]) {
      p->dedicated.push_back(t);
      p->dedicated_bytes.push_back(b);
      p->dedicated_total += b;
    } else if (first[t] >= 0) {
      p->slot_tensor.push_back(t);
      f.push_back(first[t]);
      l.push_back(last[t]);
      bytes.push_back(b);
    }
  }
  const uint64_t cap = kSgMaxActivationBytes;
  if (p->dedicated_total > cap)
    return set_error(SG_ERR_MEMORY, "activation memory exceeds the limit of %llu MiB (graph inputs and outputs alone need %llu MiB)",
                     (unsigned long long)(cap >> 20), (unsigned long long)(p->dedicated_total >> 20));
  // The arena is at least its largest slot: skip the planner when that cannot fit. Otherwise
  // every slot is under 1 GiB and the planner's offsets (at most their sum) cannot overflow.
  uint64_t largest = 0;
  for (uint64_t b : bytes) largest = b > largest ? b : largest;
  p->arena = largest > cap - p->dedicated_total ? largest : plan_arena(f, l, bytes, &p->offsets);
  if (p->arena > cap - p->dedicated_total)
    return set_error(SG_ERR_MEMORY, "activation memory exceeds the limit of %llu MiB (the model needs %llu MiB)",
                     (unsigned long long)(cap >> 20), (unsigned long long)((p->arena + p->dedicated_total) >> 20));
  s->activation_bytes = p->arena + p->dedicated_total;
  if (s->max_bytes > 0 && (double)s->activation_bytes > s->max_bytes)
    return set_error(SG_ERR_LIMIT, "the model needs %llu bytes of activation memory, over the session's memory limit of %.0f bytes",
                     (unsigned long long)s->activation_bytes, s->max_bytes);
  return true;
}

static bool allocate_memory(sg_session* s, const MemoryPlan& p) {
  const Model& m = *s->model;
  s->tensor_data.assign(m.tensors.size(), nullptr);
  for (size_t t = 0; t < m.tensors.size(); t++)
    if (m.tensors[t].kind == TK_CONSTANT) s->tensor_data[t] = (float*)m.tensors[t].data;
  for (size_t i = 0; i < p.dedicated.size(); i++) {
    size_t t = p.dedicated[i];
    uint64_t b = p.dedicated_bytes[i];
    void* ptr = aligned_alloc(kSgAlign, (size_t)b);
    if (!ptr) return set_error(SG_ERR_MEMORY, "out of memory allocating %llu bytes for tensor '%s'", (unsigned long long)b, m.tensors[t].name.c_str());
    memset(ptr, 0, (size_t)b);
    s->dedicated.push_back(ptr);
    s->tensor_data[t] = (float*)ptr;
  }
  s->arena_bytes = p.arena;
  if (p.arena) {
    s->arena = (uint8_t*)aligned_alloc(kSgAlign, (size_t)p.arena);
    if (!s->arena) return set_error(SG_ERR_MEMORY, "out of memory allocating an arena of %llu bytes", (unsigned long long)p.arena);
  }
  for (size_t i = 0; i < p.slot_tensor.size(); i++) s->tensor_data[p.slot_tensor[i]] = (float*)(s->arena + p.offsets[i]);
  for (size_t k = 0; k < m.nodes.size(); k++) {
    OpCtx& c = s->ctx[k];
    const Node& n = m.nodes[k];
    for (size_t i = 0; i < n.inputs.size(); i++) c.in[i] = n.inputs[i] >= 0 ? s->tensor_data[n.inputs[i]] : nullptr;
    for (size_t i = 0; i < n.outputs.size(); i++) c.out[i] = s->tensor_data[n.outputs[i]];
  }
  return true;
}

// Gating: a node reads the constant-plane record (OpCtx::fill_out) of the node that
// produces its input 0 as output 0, so it can fold constant channels into its bias. A node
// that passes constant planes through unchanged (passes_fill_in) hands that record on; nodes
// are in topological order, so a chain of them links in one pass.
static void link_channel_fills(sg_session* s) {
  const Model& m = *s->model;
  std::vector<int> producer(m.tensors.size(), -1);
  for (size_t k = 0; k < m.nodes.size(); k++)
    if (!m.nodes[k].outputs.empty()) producer[m.nodes[k].outputs[0]] = (int)k;
  for (size_t k = 0; k < m.nodes.size(); k++) {
    const Node& n = m.nodes[k];
    int p = n.inputs.empty() || n.inputs[0] < 0 ? -1 : producer[n.inputs[0]];
    s->ctx[k].fill_in = p >= 0 ? s->ctx[p].fill_out : nullptr;
    const ChannelFill* in = s->ctx[k].fill_in;
    if (s->ctx[k].passes_fill_in && in && !in->may_have_interior)
      s->ctx[k].fill_out = const_cast<ChannelFill*>(in);
  }
  // A gated producer need not write its constant planes when nobody reads them: its output is
  // no graph output and every reader takes it as input 0 only, folding it (folds_fill_in).
  std::vector<char> planes_read(m.tensors.size(), 0);
  for (int t : m.outputs) planes_read[t] = 1;
  for (size_t k = 0; k < m.nodes.size(); k++) {
    const Node& n = m.nodes[k];
    for (size_t i = 0; i < n.inputs.size(); i++)
      if (n.inputs[i] >= 0 && (i > 0 || !s->ctx[k].folds_fill_in)) planes_read[n.inputs[i]] = 1;
  }
  for (size_t k = 0; k < m.nodes.size(); k++) {
    ChannelFill* f = s->ctx[k].fill_out;
    if (f && !s->ctx[k].passes_fill_in && !m.nodes[k].outputs.empty())
      f->skip_writes = !planes_read[m.nodes[k].outputs[0]];
  }
}

bool session_init(sg_session* s, const Model* model) {
  s->model = model;
  MemoryPlan plan;
  if (!plan_memory(s, &plan) || !prepare_nodes(s) || !allocate_memory(s, plan)) return false;
  link_channel_fills(s);
  return true;
}

// Runs nodes [first, last); returns their executed MACs.
static double run_nodes(sg_session* s, size_t first, size_t last) {
  const Model& m = *s->model;
  double executed = 0;
  for (size_t k = first; k < last; k++) {
    OpCtx& c = s->ctx[k];
    c.gate = s->gate;
    c.macs_executed = c.macs;
    op_at(m.nodes[k].op_index).run(c);
    s->node_macs_executed[k] = c.macs_executed;
    executed += c.macs_executed;
  }
  return executed;
}

int session_run(sg_session* s) {
  s->macs_executed = run_nodes(s, 0, s->model->nodes.size());
  return SG_OK;
}

int session_run_range(sg_session* s, int first, int last) {
  const int n = (int)s->model->nodes.size();
  if (first < 0 || last > n || first > last)
    return set_error(SG_ERR_INVALID, "sg_session_run_range: nodes [%d, %d) outside [0, %d)", first, last, n),
           SG_ERR_INVALID;
  run_nodes(s, (size_t)first, (size_t)last);
  return SG_OK;
}

} // namespace sg
