#include "loader.h"
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include "common.h"
#include "ops/op.h"
#include "sparsegate.h"

namespace sg {

bool fold_dequantize(Model* m); // ops/dequantize.cpp: Dequantize nodes become f32 constants

static const uint32_t kMaxSections = 64;
static const uint32_t kMaxStr = 4096;
static const uint32_t kMaxAttrValues = 1u << 20;
static const uint32_t kMaxNodeIO = 1u << 16;
static const uint32_t kMaxAttrs = 1u << 10;
static const uint32_t kMaxTensors = 1u << 24;

struct Section {
  char kind[5] = {};
  uint32_t flags = 0;
  uint64_t offset = 0, size = 0;
};

static bool fmt_err(const char* fmt, const char* a, const char* b = "") {
  return set_error(SG_ERR_FORMAT, fmt, a, b);
}

static bool parse_sections(const uint8_t* data, uint64_t size, Section* meta, Section* grph,
                           Section* dsec) {
  if (size < 64) return set_error(SG_ERR_FORMAT, "file of %llu bytes is too short for an .sgm header", (unsigned long long)size);
  ByteReader h(data, 64);
  char magic[4];
  h.take(magic, 4);
  if (memcmp(magic, "SGM\x01", 4) != 0) return set_error(SG_ERR_FORMAT, "not an .sgm file (bad magic); ONNX models must be converted first: sparsegate convert model.onnx -o model.sgm");
  uint32_t major = h.u32(), minor = h.u32(), count = h.u32();
  uint64_t file_size = h.u64();
  uint32_t table_crc = h.u32();
  (void)minor;
  if (major != 1) return set_error(SG_ERR_FORMAT, "format version %u is not supported (this runtime reads version 1)", major);
  if (count > kMaxSections) return set_error(SG_ERR_FORMAT, "%u sections exceed the limit of %u", count, kMaxSections);
  if (file_size != size)
    return set_error(SG_ERR_FORMAT, "header says %llu bytes but %llu were given (truncated?)",
                     (unsigned long long)file_size, (unsigned long long)size);
  uint64_t table_end = 64 + 32ull * count;
  if (table_end > size) return set_error(SG_ERR_FORMAT, "section table runs past the end of the file");
  if (crc32(data + 64, 32ull * count) != table_crc)
    return set_error(SG_ERR_FORMAT, "section table checksum mismatch (corrupt file)");
  Section all[kMaxSections];
  bool have_meta = false, have_grph = false, have_data = false;
  ByteReader t(data + 64, 32ull * count);
  for (uint32_t i = 0; i < count; i++) {
    Section s;
    t.take(s.kind, 4);
    for (int k = 0; k < 4; k++)
      if (s.kind[k] < 32 || s.kind[k] > 126) s.kind[k] = '?';
    s.flags = t.u32();
    s.offset = t.u64();
    s.size = t.u64();
    uint32_t crc = t.u32();
    t.u32();
    if (s.offset % 64 || s.offset < table_end || s.offset > size || s.size > size - s.offset)
      return set_error(SG_ERR_FORMAT, "section %s at %llu+%llu lies outside the file or is misaligned", s.kind,
                       (unsigned long long)s.offset, (unsigned long long)s.size);
    for (uint32_t j = 0; j < i; j++)
      if (s.offset < all[j].offset + all[j].size && all[j].offset < s.offset + s.size)
        return fmt_err("section %s overlaps section %s", s.kind, all[j].kind);
    all[i] = s;
    if (crc32(data + s.offset, s.size) != crc) return fmt_err("section %s checksum mismatch (corrupt file)", s.kind);
    Section* known = nullptr;
    bool* seen = nullptr;
    if (!memcmp(s.kind, "META", 4)) known = meta, seen = &have_meta;
    else if (!memcmp(s.kind, "GRPH", 4)) known = grph, seen = &have_grph;
    else if (!memcmp(s.kind, "DATA", 4)) known = dsec, seen = &have_data;
    if (!known) {
      if (s.flags & 1) return set_error(SG_ERR_UNSUPPORTED, "required section %s is unknown to this runtime", s.kind);
      continue;
    }
    if (*seen) return fmt_err("section %s appears twice", s.kind);
    *seen = true;
    *known = s;
  }
  if (!have_meta) return fmt_err("missing section %s", "META");
  if (!have_grph) return fmt_err("missing section %s", "GRPH");
  if (!have_data) return fmt_err("missing section %s", "DATA");
  return true;
}

static bool grph_truncated(const char* what, const std::string& name) {
  return set_error(SG_ERR_FORMAT, "GRPH: truncated or invalid %s%s%s%s", what, name.empty() ? "" : " '",
                   name.c_str(), name.empty() ? "" : "'");
}

// Reads a count and checks that `count * min_bytes` could still fit in what is left.
static bool read_count(ByteReader& r, uint32_t limit, uint64_t min_bytes, uint32_t* out, const char* what,
                       const std::string& where) {
  uint32_t n = r.u32();
  if (!r.ok) return grph_truncated(what, where);
  if (n > limit || (uint64_t)n * min_bytes > r.remaining())
    return set_error(SG_ERR_FORMAT, "GRPH: %s%s%s: count %u exceeds the limit or the section", what,
                     where.empty() ? "" : " of ", where.c_str(), n);
  *out = n;
  return true;
}

static bool parse_tensor(ByteReader& r, uint32_t index, const uint8_t* dbase, uint64_t dsize, Tensor* t) {
  if (!r.str(&t->name, kMaxStr)) return set_error(SG_ERR_FORMAT, "GRPH: tensor %u: truncated or over-long name", index);
  const char* nm = t->name.c_str();
  t->dtype = r.u8();
  uint8_t rank = r.u8();
  t->kind = r.u16();
  if (!r.ok) return grph_truncated("tensor", t->name);
  if (dtype_size(t->dtype) == 0) return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s': unknown dtype code %u", nm, t->dtype);
  if (rank > kMaxRank) return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s': rank %u exceeds %d", nm, rank, kMaxRank);
  if (t->kind > TK_INPUT) return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s': unknown kind %u", nm, t->kind);
  t->shape.rank = rank;
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    int64_t d = r.i64();
    if (!r.ok) return grph_truncated("dims of tensor", t->name);
    if (d < 0 || d > kMaxDim)
      return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s': dimension %d is %lld (must be 0..%lld)", nm, i,
                       (long long)d, (long long)kMaxDim);
    t->shape.dims[i] = d;
    if (numel != 0 && d > kMaxNumel / numel)
      return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s': shape %s has too many elements", nm, t->shape.str().c_str());
    numel *= d;
  }
  uint64_t offset = r.u64(), size = r.u64();
  if (!r.ok) return grph_truncated("tensor", t->name);
  if (t->kind == TK_CONSTANT) {
    uint64_t expect = (uint64_t)numel * dtype_size(t->dtype);
    if (size != expect || offset % 64 || offset > dsize || size > dsize - offset)
      return set_error(SG_ERR_FORMAT,
                       "GRPH: constant '%s': data %llu+%llu invalid (expected %llu bytes at a 64-aligned offset inside DATA of %llu)",
                       nm, (unsigned long long)offset, (unsigned long long)size, (unsigned long long)expect,
                       (unsigned long long)dsize);
    t->data = dbase + offset;
    t->data_size = size;
  } else if (offset != 0 || size != 0) {
    return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s' is not a constant but has data %llu+%llu", nm,
                     (unsigned long long)offset, (unsigned long long)size);
  }
  // Activations and graph inputs are float32; constants may also be stored as int8, int32 or
  // float16 (quantized weights). Each op's prepare checks the dtypes it accepts.
  bool ok = t->dtype == DT_F32 ||
            (t->kind == TK_CONSTANT && (t->dtype == DT_I8 || t->dtype == DT_I32 || t->dtype == DT_F16));
  if (!ok)
    return set_error(SG_ERR_UNSUPPORTED, "tensor '%s': dtype %s is not supported for %s (this runtime computes float32; constants may be int8, int32 or float16)",
                     nm, dtype_name(t->dtype), t->kind == TK_CONSTANT ? "a constant" : "an activation or input");
  return true;
}

static bool parse_attr(ByteReader& r, const std::string& where, Attr* a) {
  if (!r.str(&a->name, kMaxStr)) return grph_truncated("attribute name of node", where);
  a->type = r.u8();
  uint32_t n = r.u32();
  if (!r.ok) return grph_truncated("attribute of node", where);
  const char* nm = a->name.c_str();
  uint64_t unit = a->type == Attr::INTS ? 8 : a->type == Attr::FLOATS ? 4 : a->type == Attr::STRING ? 1 : 0;
  if (unit == 0)
    return set_error(SG_ERR_FORMAT, "GRPH: node '%s' attribute '%s': unknown type %u", where.c_str(), nm, a->type);
  if (n > kMaxAttrValues || n * unit > r.remaining())
    return set_error(SG_ERR_FORMAT, "GRPH: node '%s' attribute '%s': %u values exceed the limit or the section",
                     where.c_str(), nm, n);
  if (a->type == Attr::INTS) {
    a->ints.resize(n);
    r.take(a->ints.data(), 8ull * n);
  } else if (a->type == Attr::FLOATS) {
    a->floats.resize(n);
    r.take(a->floats.data(), 4ull * n);
  } else {
    a->str.resize(n);
    r.take(&a->str[0], n);
  }
  return r.ok || grph_truncated("attribute of node", where);
}

static bool parse_index_list(ByteReader& r, uint32_t tensor_count, bool allow_absent, std::vector<int>* out,
                             const char* what, const std::string& where) {
  uint32_t n;
  if (!read_count(r, kMaxNodeIO, 4, &n, what, where)) return false;
  for (uint32_t i = 0; i < n; i++) {
    int32_t v = r.i32();
    if (!r.ok) return grph_truncated(what, where);
    if (!(v == -1 && allow_absent) && (v < 0 || (uint32_t)v >= tensor_count))
      return set_error(SG_ERR_FORMAT, "GRPH: %s%s%s: tensor index %d out of range (%u tensors)", what,
                       where.empty() ? "" : " of node ", where.c_str(), v, tensor_count);
    out->push_back(v);
  }
  return true;
}

static bool parse_graph(const uint8_t* g, uint64_t gsize, const uint8_t* dbase, uint64_t dsize, Model* m) {
  ByteReader r(g, gsize);
  uint32_t tcount;
  if (!read_count(r, kMaxTensors, 24, &tcount, "tensor count", "")) return false;
  for (uint32_t i = 0; i < tcount; i++) {
    m->tensors.emplace_back();
    if (!parse_tensor(r, i, dbase, dsize, &m->tensors.back())) return false;
  }
  uint32_t ncount;
  if (!read_count(r, kMaxTensors, 20, &ncount, "node count", "")) return false;
  std::vector<uint8_t> produced(tcount, 0);
  for (uint32_t k = 0; k < ncount; k++) {
    m->nodes.emplace_back();
    Node& n = m->nodes.back();
    if (!r.str(&n.op, kMaxStr) || !r.str(&n.name, kMaxStr))
      return set_error(SG_ERR_FORMAT, "GRPH: node %u: truncated or over-long op or name", k);
    if (!parse_index_list(r, tcount, true, &n.inputs, "inputs", n.name)) return false;
    if (!parse_index_list(r, tcount, false, &n.outputs, "outputs", n.name)) return false;
    uint32_t acount;
    if (!read_count(r, kMaxAttrs, 9, &acount, "attribute count", n.name)) return false;
    for (uint32_t a = 0; a < acount; a++) {
      n.attrs.emplace_back();
      if (!parse_attr(r, n.name, &n.attrs.back())) return false;
    }
    const OpDef* def = op_find(n.op);
    if (!def) return set_error(SG_ERR_UNSUPPORTED, "unsupported op '%s' in node '%s'", n.op.c_str(), n.name.c_str());
    n.op_index = (int)(def - &op_at(0));
    for (size_t i = 0; i < n.inputs.size(); i++)  // the op's contract (ops/registry.h)
      if (n.inputs[i] < 0 && (i >= 32 || !(def->optional_inputs >> i & 1)))
        return set_error(SG_ERR_FORMAT, "GRPH: node '%s' (%s): input %u is absent, but %s has no optional input %u",
                         n.name.c_str(), n.op.c_str(), (unsigned)i, n.op.c_str(), (unsigned)i);
    for (int t : n.inputs) {
      if (t < 0) continue;
      const Tensor& tt = m->tensors[t];
      if (tt.kind == TK_ACTIVATION && !produced[t])
        return set_error(SG_ERR_FORMAT, "GRPH: node '%s' reads tensor '%s' before any node produces it",
                         n.name.c_str(), tt.name.c_str());
    }
    for (int t : n.outputs) {
      const Tensor& tt = m->tensors[t];
      if (tt.kind != TK_ACTIVATION)
        return set_error(SG_ERR_FORMAT, "GRPH: node '%s' writes tensor '%s', which is a %s", n.name.c_str(),
                         tt.name.c_str(), tt.kind == TK_CONSTANT ? "constant" : "graph input");
      if (produced[t])
        return set_error(SG_ERR_FORMAT, "GRPH: tensor '%s' is produced twice (again by node '%s')",
                         tt.name.c_str(), n.name.c_str());
      produced[t] = 1;
    }
  }
  if (!parse_index_list(r, tcount, false, &m->inputs, "graph inputs", "")) return false;
  if (!parse_index_list(r, tcount, false, &m->outputs, "graph outputs", "")) return false;
  if (r.remaining() != 0)
    return set_error(SG_ERR_FORMAT, "GRPH: %llu unexpected bytes after the graph", (unsigned long long)r.remaining());
  std::vector<uint8_t> seen(tcount, 0);
  for (int t : m->inputs) {
    const Tensor& tt = m->tensors[t];
    if (tt.kind != TK_INPUT) return fmt_err("GRPH: graph input '%s' is not marked as an input tensor", tt.name.c_str());
    if (seen[t]) return fmt_err("GRPH: graph input '%s' is listed twice", tt.name.c_str());
    seen[t] = 1;
  }
  for (uint32_t t = 0; t < tcount; t++)
    if (m->tensors[t].kind == TK_INPUT && !seen[t])
      return fmt_err("GRPH: tensor '%s' is marked as an input but is not a graph input", m->tensors[t].name.c_str());
  for (int t : m->outputs) {
    const Tensor& tt = m->tensors[t];
    if (tt.kind != TK_ACTIVATION || !produced[t])
      return fmt_err("GRPH: graph output '%s' is not produced by any node", tt.name.c_str());
    if (seen[t] == 2) return fmt_err("GRPH: graph output '%s' is listed twice", tt.name.c_str());
    seen[t] = 2;
  }
  return true;
}

// Hosts key inputs and outputs by name (a dict in Python, an object in JS): two tensors of one
// name would make a model impossible to feed or silently drop an output.
static bool check_unique_names(const Model* m) {
  std::vector<const std::string*> names;
  names.reserve(m->tensors.size());
  for (const Tensor& t : m->tensors) names.push_back(&t.name);
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 1; i < names.size(); i++)
    if (*names[i] == *names[i - 1]) return fmt_err("GRPH: two tensors are named '%s'", names[i]->c_str());
  return true;
}

bool model_parse(const uint8_t* data, uint64_t size, Model* m) {
  if (!data) return set_error(SG_ERR_INVALID, "no model bytes given");
  Section meta, grph, dsec;
  if (!parse_sections(data, size, &meta, &grph, &dsec)) return false;
  m->metadata.assign((const char*)data + meta.offset, meta.size);
  if (m->metadata.find('\0') != std::string::npos) return fmt_err("META: %s", "contains a NUL byte");
  return parse_graph(data + grph.offset, grph.size, data + dsec.offset, dsec.size, m) &&
         check_unique_names(m) && fold_dequantize(m);
}

Model::~Model() {
  for (void* p : folded) free(p);
}

} // namespace sg
