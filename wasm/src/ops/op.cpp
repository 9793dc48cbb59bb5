#include "op.h"
#include "../common.h"
#include "sparsegate.h"
#include "../kernels/parallel.h"
#include "../kernels/scratch.h"

namespace sg {

const float* OpCtx::constant_f32(int i) const {
  if (!has_input(i)) return nullptr;
  const Tensor& t = input(i);
  if (t.kind != TK_CONSTANT || t.dtype != DT_F32) return nullptr;
  return (const float*)t.data;
}

bool OpCtx::fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = str_vformat(fmt, ap);
  va_end(ap);
  if (error) *error = node->op + " node '" + node->name + "': " + msg;
  return false;
}

bool OpCtx::reserve(double bytes, const char* what) {
  if (!budget) return true;
  double total = budget->used + bytes;
  if (budget->limit > 0 && budget->base + total > budget->limit) {
    if (error_code) *error_code = SG_ERR_LIMIT;
    return fail("%s needs %.0f bytes, which exceeds the session's memory limit of %.0f bytes "
                "(%.0f already planned)", what, bytes, budget->limit, budget->base + budget->used);
  }
  if (!(total <= budget->cap)) {
    if (error_code) *error_code = SG_ERR_MEMORY;
    return fail("%s needs %.0f bytes, past the runtime's limit of %.0f MiB for per-node state",
                what, bytes, budget->cap / (1 << 20));
  }
  budget->used = total;
  return true;
}

bool OpCtx::reserve_scratch(double floats) {
  double extra = budget && floats > budget->scratch_floats ? floats - budget->scratch_floats : 0;
  if (!reserve(extra * 4 * max_threads(), "scratch")) return false;
  if (budget && floats > budget->scratch_floats) budget->scratch_floats = floats;
  if (!scratch_reserve((size_t)floats)) {
    if (error_code) *error_code = SG_ERR_MEMORY;
    return fail("out of memory for %.0f floats of scratch", floats);
  }
  return true;
}

void OpCtx::set_state(NodeState* s) {
  if (owned_states) owned_states->push_back(s);
  state = s;
}

bool OpCtx::need_io(int min_in, int max_in, int n_out) {
  int n = input_count();
  if (n < min_in || n > max_in) {
    if (min_in == max_in) return fail("expects %d inputs, got %d", min_in, n);
    return fail("expects %d to %d inputs, got %d", min_in, max_in, n);
  }
  if (output_count() != n_out) return fail("expects %d outputs, got %d", n_out, output_count());
  for (int i = 0; i < n; i++) {
    if (!has_input(i)) {
      if (i < min_in) return fail("input %d is required", i);
      continue;
    }
    if (input(i).dtype != DT_F32) return fail("input '%s' has dtype %s, expected float32", input(i).name.c_str(), dtype_name(input(i).dtype));
  }
  for (int i = 0; i < n_out; i++)
    if (output(i).dtype != DT_F32) return fail("output '%s' has dtype %s, expected float32", output(i).name.c_str(), dtype_name(output(i).dtype));
  return true;
}

static const char* attr_type_name(uint8_t t) {
  return t == Attr::INTS ? "ints" : t == Attr::FLOATS ? "floats" : t == Attr::STRING ? "string" : "unknown";
}

bool OpCtx::need_ints(const char* key, std::vector<int64_t>* out, int count) {
  const Attr* a = node->attr(key);
  if (!a) return fail("attribute '%s' is missing", key);
  if (a->type != Attr::INTS) return fail("attribute '%s' is %s, expected ints", key, attr_type_name(a->type));
  if (count >= 0 && (int)a->ints.size() != count) return fail("attribute '%s' has %d values, expected %d", key, (int)a->ints.size(), count);
  *out = a->ints;
  return true;
}

bool OpCtx::need_int(const char* key, int64_t* out) {
  std::vector<int64_t> v;
  if (!need_ints(key, &v, 1)) return false;
  *out = v[0];
  return true;
}

bool OpCtx::need_floats(const char* key, std::vector<float>* out, int count) {
  const Attr* a = node->attr(key);
  if (!a) return fail("attribute '%s' is missing", key);
  if (a->type != Attr::FLOATS && a->type != Attr::INTS) return fail("attribute '%s' is %s, expected floats", key, attr_type_name(a->type));
  std::vector<float> v = node->attr_floats(key);
  if (count >= 0 && (int)v.size() != count) return fail("attribute '%s' has %d values, expected %d", key, (int)v.size(), count);
  *out = v;
  return true;
}

bool OpCtx::need_float(const char* key, float* out) {
  std::vector<float> v;
  if (!need_floats(key, &v, 1)) return false;
  *out = v[0];
  return true;
}

bool OpCtx::need_string(const char* key, std::string* out) {
  const Attr* a = node->attr(key);
  if (!a) return fail("attribute '%s' is missing", key);
  if (a->type != Attr::STRING) return fail("attribute '%s' is %s, expected a string", key, attr_type_name(a->type));
  *out = a->str;
  return true;
}

bool OpCtx::need_axis(const char* key, int rank, int* out) {
  int64_t v;
  if (!need_int(key, &v)) return false;
  if (v < 0 || v >= rank) return fail("attribute '%s' = %lld is out of range for rank %d", key, (long long)v, rank);
  *out = (int)v;
  return true;
}

bool OpCtx::need_output_shape(int i, const Shape& expect) {
  const Tensor& t = output(i);
  if (t.shape != expect)
    return fail("output '%s' has shape %s, expected %s", t.name.c_str(), t.shape.str().c_str(), expect.str().c_str());
  return true;
}

} // namespace sg
