// The flat C ABI (include/sparsegate.h): argument checks and error reporting around
// loader.cpp and session.cpp. Nothing here traps: bad handles and indices set the last error.
#include <new>
#include <stdlib.h>
#include "common.h"
#include "loader.h"
#include "session.h"
#include "sparsegate.h"

using namespace sg;

extern "C" {

int sg_version(void) { return 0 * 10000 + 1 * 100 + 0; }
const char* sg_last_error(void) { return last_error_text(); }
int sg_last_error_code(void) { return last_error_code(); }

void* sg_alloc(uint32_t size) {
  uint64_t n = ((uint64_t)size + kSgAlign - 1) / kSgAlign * kSgAlign;
  if (n == 0) n = kSgAlign;
  void* p = aligned_alloc(kSgAlign, n);
  if (!p) set_error(SG_ERR_MEMORY, "out of memory allocating %u bytes", size);
  return p;
}

void sg_free(void* ptr) { free(ptr); }

sg_model* sg_model_load(const uint8_t* data, uint32_t size) {
  clear_error();
  sg_model* m = new (std::nothrow) sg_model;
  if (!m) {
    set_error(SG_ERR_MEMORY, "out of memory");
    return nullptr;
  }
  if (!model_parse(data, size, &m->model)) {
    delete m;
    return nullptr;
  }
  return m;
}

void sg_model_free(sg_model* model) { delete model; }

const char* sg_model_metadata(const sg_model* model) { return model ? model->model.metadata.c_str() : ""; }
uint32_t sg_model_metadata_size(const sg_model* model) { return model ? (uint32_t)model->model.metadata.size() : 0; }

sg_session* sg_session_create(const sg_model* model) { return sg_session_create_limited(model, 0, 0); }

sg_session* sg_session_create_limited(const sg_model* model, double max_bytes, double max_macs) {
  clear_error();
  if (!model) {
    set_error(SG_ERR_INVALID, "sg_session_create: no model");
    return nullptr;
  }
  if (!(max_bytes >= 0) || !(max_macs >= 0)) { // NaN included
    set_error(SG_ERR_INVALID, "sg_session_create_limited: limits must be >= 0 (0 = none), got %g bytes and %g MACs",
              max_bytes, max_macs);
    return nullptr;
  }
  sg_session* s = new (std::nothrow) sg_session;
  if (!s) {
    set_error(SG_ERR_MEMORY, "out of memory");
    return nullptr;
  }
  s->max_bytes = max_bytes;
  s->max_macs = max_macs;
  if (!session_init(s, &model->model)) {
    delete s;
    return nullptr;
  }
  return s;
}

void sg_session_free(sg_session* session) { delete session; }

// Tensor index of graph input/output `index`, or -1 (last error set).
static int io_tensor(const sg_session* s, int index, bool output) {
  if (!s) {
    set_error(SG_ERR_INVALID, "no session");
    return -1;
  }
  const std::vector<int>& list = output ? s->model->outputs : s->model->inputs;
  if (index < 0 || index >= (int)list.size()) {
    set_error(SG_ERR_INVALID, "%s index %d out of range (%d %ss)", output ? "output" : "input", index,
              (int)list.size(), output ? "output" : "input");
    return -1;
  }
  return list[index];
}

static int io_dim(const sg_session* s, int index, int axis, bool output) {
  int t = io_tensor(s, index, output);
  if (t < 0) return -1;
  const Shape& sh = s->model->tensors[t].shape;
  if (axis < 0 || axis >= sh.rank) {
    set_error(SG_ERR_INVALID, "axis %d out of range for rank %d", axis, sh.rank);
    return -1;
  }
  return (int)sh.dims[axis];
}

int sg_session_input_count(const sg_session* s) { return s ? (int)s->model->inputs.size() : 0; }
const char* sg_session_input_name(const sg_session* s, int index) {
  int t = io_tensor(s, index, false);
  return t < 0 ? nullptr : s->model->tensors[t].name.c_str();
}
int sg_session_input_rank(const sg_session* s, int index) {
  int t = io_tensor(s, index, false);
  return t < 0 ? -1 : s->model->tensors[t].shape.rank;
}
int sg_session_input_dim(const sg_session* s, int index, int axis) { return io_dim(s, index, axis, false); }
float* sg_session_input_data(sg_session* s, int index) {
  int t = io_tensor(s, index, false);
  return t < 0 ? nullptr : s->tensor_data[t];
}

int sg_session_output_count(const sg_session* s) { return s ? (int)s->model->outputs.size() : 0; }
const char* sg_session_output_name(const sg_session* s, int index) {
  int t = io_tensor(s, index, true);
  return t < 0 ? nullptr : s->model->tensors[t].name.c_str();
}
int sg_session_output_rank(const sg_session* s, int index) {
  int t = io_tensor(s, index, true);
  return t < 0 ? -1 : s->model->tensors[t].shape.rank;
}
int sg_session_output_dim(const sg_session* s, int index, int axis) { return io_dim(s, index, axis, true); }
const float* sg_session_output_data(const sg_session* s, int index) {
  int t = io_tensor(s, index, true);
  return t < 0 ? nullptr : s->tensor_data[t];
}

int sg_session_run(sg_session* s) {
  if (!s) return set_error(SG_ERR_INVALID, "sg_session_run: no session"), SG_ERR_INVALID;
  return session_run(s);
}

int sg_session_run_range(sg_session* s, int first, int last) {
  if (!s) return set_error(SG_ERR_INVALID, "sg_session_run_range: no session"), SG_ERR_INVALID;
  return session_run_range(s, first, last);
}

int sg_session_set_gate(sg_session* s, float gate) {
  if (!s) return set_error(SG_ERR_INVALID, "sg_session_set_gate: no session"), SG_ERR_INVALID;
  if (!(gate >= 0.0f && gate <= 1.0f))
    return set_error(SG_ERR_INVALID, "gate %g is outside [0, 1]", (double)gate), SG_ERR_INVALID;
  s->gate = gate;
  return SG_OK;
}

double sg_session_macs_dense(const sg_session* s) { return s ? s->macs_dense : 0; }
double sg_session_macs_executed(const sg_session* s) { return s ? s->macs_executed : 0; }
int sg_session_node_count(const sg_session* s) { return s ? (int)s->model->nodes.size() : 0; }

static bool node_ok(const sg_session* s, int node) {
  if (s && node >= 0 && node < (int)s->model->nodes.size()) return true;
  set_error(SG_ERR_INVALID, "node index %d out of range", node);
  return false;
}
const char* sg_session_node_name(const sg_session* s, int node) {
  return node_ok(s, node) ? s->model->nodes[node].name.c_str() : nullptr;
}
const char* sg_session_node_op(const sg_session* s, int node) {
  return node_ok(s, node) ? s->model->nodes[node].op.c_str() : nullptr;
}
double sg_session_node_macs_dense(const sg_session* s, int node) { return node_ok(s, node) ? s->ctx[node].macs : 0; }
double sg_session_node_macs_executed(const sg_session* s, int node) {
  return node_ok(s, node) ? s->node_macs_executed[node] : 0;
}
uint32_t sg_session_arena_bytes(const sg_session* s) { return s ? (uint32_t)s->arena_bytes : 0; }
double sg_session_memory_bytes(const sg_session* s) {
  return s ? (double)s->activation_bytes + s->budget.used : 0;
}

// ---- the validated graph (sparsegate.h: for executors outside the runtime) ----

static bool tensor_ok(const sg_session* s, int t) {
  if (s && t >= 0 && t < (int)s->model->tensors.size()) return true;
  set_error(SG_ERR_INVALID, "tensor index %d out of range", t);
  return false;
}
static const Attr* attr_at(const sg_session* s, int node, int a) {
  if (!node_ok(s, node)) return nullptr;
  const std::vector<Attr>& attrs = s->model->nodes[node].attrs;
  if (a >= 0 && a < (int)attrs.size()) return &attrs[a];
  set_error(SG_ERR_INVALID, "attribute index %d out of range for node %d (%d attributes)", a, node, (int)attrs.size());
  return nullptr;
}
static int list_at(const sg_session* s, int node, int i, bool output) {
  if (!node_ok(s, node)) return -2;
  const std::vector<int>& list = output ? s->model->nodes[node].outputs : s->model->nodes[node].inputs;
  if (i >= 0 && i < (int)list.size()) return list[i];
  set_error(SG_ERR_INVALID, "%s index %d out of range for node %d (%d %ss)", output ? "output" : "input", i, node,
            (int)list.size(), output ? "output" : "input");
  return -2;
}

int sg_session_tensor_count(const sg_session* s) { return s ? (int)s->model->tensors.size() : -2; }
const char* sg_session_tensor_name(const sg_session* s, int t) {
  return tensor_ok(s, t) ? s->model->tensors[t].name.c_str() : nullptr;
}
int sg_session_tensor_kind(const sg_session* s, int t) { return tensor_ok(s, t) ? s->model->tensors[t].kind : -1; }
int sg_session_tensor_dtype(const sg_session* s, int t) { return tensor_ok(s, t) ? s->model->tensors[t].dtype : -1; }
int sg_session_tensor_rank(const sg_session* s, int t) { return tensor_ok(s, t) ? s->model->tensors[t].shape.rank : -1; }
int sg_session_tensor_dim(const sg_session* s, int t, int axis) {
  if (!tensor_ok(s, t)) return -1;
  const Shape& sh = s->model->tensors[t].shape;
  if (axis < 0 || axis >= sh.rank) {
    set_error(SG_ERR_INVALID, "axis %d out of range for tensor %d of rank %d", axis, t, sh.rank);
    return -1;
  }
  return (int)sh.dims[axis];
}
const void* sg_session_tensor_data(const sg_session* s, int t) {
  if (!tensor_ok(s, t)) return nullptr;
  const Tensor& x = s->model->tensors[t];
  return x.kind == TK_CONSTANT ? x.data : nullptr;
}
uint32_t sg_session_tensor_data_size(const sg_session* s, int t) {
  if (!tensor_ok(s, t)) return 0;
  const Tensor& x = s->model->tensors[t];
  return x.kind == TK_CONSTANT && x.data ? (uint32_t)x.data_size : 0;
}
int sg_session_node_input_count(const sg_session* s, int node) {
  return node_ok(s, node) ? (int)s->model->nodes[node].inputs.size() : -2;
}
int sg_session_node_input(const sg_session* s, int node, int i) { return list_at(s, node, i, false); }
int sg_session_node_output_count(const sg_session* s, int node) {
  return node_ok(s, node) ? (int)s->model->nodes[node].outputs.size() : -2;
}
int sg_session_node_output(const sg_session* s, int node, int i) { return list_at(s, node, i, true); }
int sg_session_node_attr_count(const sg_session* s, int node) {
  return node_ok(s, node) ? (int)s->model->nodes[node].attrs.size() : -2;
}
const char* sg_session_node_attr_name(const sg_session* s, int node, int a) {
  const Attr* at = attr_at(s, node, a);
  return at ? at->name.c_str() : nullptr;
}
int sg_session_node_attr_type(const sg_session* s, int node, int a) {
  const Attr* at = attr_at(s, node, a);
  return at ? at->type : -1;
}
int sg_session_node_attr_size(const sg_session* s, int node, int a) {
  const Attr* at = attr_at(s, node, a);
  if (!at) return -1;
  if (at->type == Attr::INTS) return (int)at->ints.size();
  if (at->type == Attr::FLOATS) return (int)at->floats.size();
  return (int)at->str.size();
}
double sg_session_node_attr_value(const sg_session* s, int node, int a, int i) {
  const Attr* at = attr_at(s, node, a);
  if (!at) return __builtin_nan("");
  int n = at->type == Attr::INTS ? (int)at->ints.size() : at->type == Attr::FLOATS ? (int)at->floats.size() : 0;
  if (i < 0 || i >= n) {
    set_error(SG_ERR_INVALID, "value index %d out of range for attribute '%s' of node %d (%d values)", i,
              at->name.c_str(), node, n);
    return __builtin_nan("");
  }
  return at->type == Attr::INTS ? (double)at->ints[i] : (double)at->floats[i];
}
const char* sg_session_node_attr_string(const sg_session* s, int node, int a) {
  const Attr* at = attr_at(s, node, a);
  if (!at) return nullptr;
  if (at->type != Attr::STRING) {
    set_error(SG_ERR_INVALID, "attribute '%s' of node %d is not a string", at->name.c_str(), node);
    return nullptr;
  }
  return at->str.c_str();
}

} // extern "C"
