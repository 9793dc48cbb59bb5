#include "mutate.h"
#include <float.h>
#include <math.h>
#include <string.h>
#include <random>
#include <set>
#include <string>
#include "ops/registry.h"
#include "sgm.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

std::minstd_rand rng;
uint32_t below(size_t n) { return n ? (uint32_t)(rng() % n) : 0; }

const char* const kOps[] = {
#define SG_OP_NAME(name, optional) #name,
    SG_OPS(SG_OP_NAME)
#undef SG_OP_NAME
};
const size_t kOpCount = sizeof kOps / sizeof kOps[0];

// Strings seen in earlier inputs (attribute names, modes, activations): a one-node seed of
// Resize then lends "linear" or "scales" to a Conv.
std::set<std::string> g_words;
const size_t kMaxWords = 4096;

template <typename T> T get(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}
template <typename T> void put(uint8_t* p, T v) { memcpy(p, &v, sizeof v); }

// Unsigned arithmetic: the mutator itself runs under UBSan.
int64_t near_or_hostile(int64_t v) {
  static const int64_t k[] = {0, 1, 2, 3, -1, -2, 4, 7, 8, 16, 255, 256, 4096, 65536, INT32_MAX, INT32_MIN,
                              (int64_t)1 << 31, (int64_t)1 << 32, (int64_t)1 << 40, INT64_MAX, INT64_MIN};
  uint64_t u = (uint64_t)v;
  switch (below(5)) {
    case 0: return (int64_t)(u + 1);
    case 1: return (int64_t)(u - 1);
    case 2: return (int64_t)(u * 2);
    case 3: return (int64_t)(0 - u);
    default: return k[below(sizeof k / sizeof k[0])];
  }
}

float float_value(float v) {
  static const float k[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1e-45f, 1e-30f, 1e30f, -1e30f, FLT_MAX,
                            INFINITY, -INFINITY, NAN};
  switch (below(4)) {
    case 0: return -v;
    case 1: return v * 2;
    case 2: return v + 1;
    default: return k[below(sizeof k / sizeof k[0])];
  }
}

void mutate_field(std::vector<uint8_t>& g, const GrphMap& map, const GrphField& f) {
  uint8_t* p = &g[f.at];
  uint64_t old = 0;
  memcpy(&old, p, f.width);
  int64_t v;
  switch (f.kind) {
    case F_DTYPE: v = below(12); break;
    case F_RANK: v = below(10); break;
    case F_TENSOR_KIND: case F_ATTR_TYPE: v = below(5); break;
    case F_DIM: v = below(2) ? (int64_t)below(9) : near_or_hostile((int64_t)old); break;
    case F_INDEX: {
      int64_t k[] = {-1, (int64_t)below(map.tensor_count), (int64_t)map.tensor_count, near_or_hostile((int32_t)old)};
      v = k[below(4)];
      break;
    }
    case F_DATA_OFFSET: case F_DATA_SIZE: {
      int64_t k[] = {0, (int64_t)(old + 64), (int64_t)(old - 64), (int64_t)(old + 4), near_or_hostile((int64_t)old)};
      v = k[below(5)];
      break;
    }
    case F_FLOAT: put<float>(p, float_value(get<float>(p))); return;
    case F_INT: v = near_or_hostile((int64_t)old); break;
    default: v = near_or_hostile(f.width == 4 ? (int64_t)(uint32_t)old : (int64_t)old); break;
  }
  memcpy(p, &v, f.width);  // little-endian: the low bytes
}

size_t dtype_bytes(uint8_t dtype) {
  switch (dtype) {
    case 1: case 6: return 4;
    case 3: return 1;
    case 7: return 8;
    case 10: return 2;
    default: return 0;
  }
}

// A constant gets new dims and data to match, appended to DATA: shapes change consistently,
// so a Conv with other kernel sizes or a Gemm with another K reaches prepare.
bool reshape_constant(std::vector<uint8_t>& g, std::vector<uint8_t>& data, const GrphMap& map) {
  if (map.tensors.empty()) return false;
  const GrphTensor& t = map.tensors[below(map.tensors.size())];
  size_t unit = dtype_bytes(t.dtype);
  if (t.kind != 1 || t.rank == 0 || unit == 0) return false;
  uint8_t* dims = &g[t.dims_at];
  int axis = (int)below(t.rank);
  int64_t d = get<int64_t>(dims + 8 * axis);
  put<int64_t>(dims + 8 * axis, below(3) ? (int64_t)below(9) : d + 1);
  uint64_t numel = 1;
  for (int a = 0; a < t.rank; a++) {
    int64_t n = get<int64_t>(dims + 8 * a);
    if (n < 0 || n > (1 << 16)) return false;
    numel *= (uint64_t)n;
    if (numel > (1 << 16)) return false;
  }
  uint64_t old_offset = get<uint64_t>(&g[t.offset_at]), old_size = get<uint64_t>(&g[t.offset_at + 8]);
  size_t offset = (data.size() + 63) / 64 * 64, bytes = numel * unit;
  data.resize(offset + bytes);
  for (size_t i = 0; i < bytes; i++)  // the old values, repeated: scales stay scales
    data[offset + i] = old_size && old_offset < offset && old_size <= offset - old_offset
                           ? data[old_offset + i % old_size] : (uint8_t)rng();
  put<uint64_t>(&g[t.offset_at], offset);
  put<uint64_t>(&g[t.offset_at + 8], bytes);
  return true;
}

void replace_string(std::vector<uint8_t>& g, const GrphSpan& s) {
  std::string w;
  if (below(2) || g_words.empty()) {
    w = kOps[below(kOpCount)];
  } else {
    auto it = g_words.begin();
    std::advance(it, below(g_words.size()));
    w = *it;
  }
  put<uint32_t>(&g[s.begin - 4], (uint32_t)w.size());
  g.erase(g.begin() + s.begin, g.begin() + s.end);
  g.insert(g.begin() + s.begin, w.begin(), w.end());
}

// Deletes a node, swaps two, or gives one node another's attributes.
bool edit_nodes(std::vector<uint8_t>& g, const GrphMap& map) {
  size_t n = map.nodes.size();
  if (n == 0) return false;
  const GrphNode& a = map.nodes[below(n)];
  const GrphNode& b = map.nodes[below(n)];
  std::vector<uint8_t> out(g.begin(), g.begin() + a.span.begin);
  switch (below(3)) {
    case 0:  // delete a
      put<uint32_t>(&out[map.node_count_at], get<uint32_t>(&g[map.node_count_at]) - 1);
      out.insert(out.end(), g.begin() + a.span.end, g.end());
      break;
    case 1: {  // a takes b's attributes
      out.insert(out.end(), g.begin() + a.span.begin, g.begin() + a.attrs.begin);
      out.insert(out.end(), g.begin() + b.attrs.begin, g.begin() + b.attrs.end);
      out.insert(out.end(), g.begin() + a.span.end, g.end());
      break;
    }
    default: {  // b moves in front of a
      if (b.span.begin <= a.span.begin) return false;
      out.insert(out.end(), g.begin() + b.span.begin, g.begin() + b.span.end);
      out.insert(out.end(), g.begin() + a.span.begin, g.begin() + b.span.begin);
      out.insert(out.end(), g.begin() + b.span.end, g.end());
    }
  }
  g.swap(out);
  return true;
}

void payload_bytes(std::vector<uint8_t>& p, size_t room) {
  size_t size = p.size();
  p.resize(size + room + 1);
  p.resize(LLVMFuzzerMutate(p.data(), size, p.size()));
}

// Header and section-table fields, resealed most of the time.
size_t mutate_header(uint8_t* data, size_t size) {
  uint32_t count = get<uint32_t>(data + 12);
  size_t entries = count < 64 && 64 + 32ull * count <= size ? count : 0;
  size_t at;
  int width;
  if (entries == 0 || below(3) == 0) {
    static const size_t fields[][2] = {{4, 4}, {8, 4}, {12, 4}, {16, 8}};
    const size_t* f = fields[below(4)];
    at = f[0], width = (int)f[1];
  } else {
    static const size_t fields[][2] = {{0, 4}, {4, 4}, {8, 8}, {16, 8}};
    const size_t* f = fields[below(4)];
    at = 64 + 32 * below(entries) + f[0], width = (int)f[1];
  }
  uint64_t old = 0;
  memcpy(&old, data + at, width);
  int64_t v = near_or_hostile((int64_t)old);
  if (below(4) == 0) v = (int64_t)(old + 64 * (below(2) ? 1 : -1));
  memcpy(data + at, &v, width);
  if (below(4)) sgm_reseal(data, size);
  return size;
}

size_t raw_bytes(uint8_t* data, size_t size, size_t max_size) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (below(4)) sgm_reseal(data, size);
  return size;
}

} // namespace

size_t sgm_mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  rng.seed(seed);
  std::vector<SgmSection> sections;
  if (!sgm_split(data, size, &sections) || sections.empty() || below(8) == 0)
    return raw_bytes(data, size, max_size);
  SgmSection* grph = sgm_find(sections, "GRPH");
  SgmSection* dsec = sgm_find(sections, "DATA");
  int strategy = (int)below(10);
  if (!grph && strategy < 7) strategy = 9;
  GrphMap map;
  if (grph) grph_map(grph->payload, &map);
  if (grph && g_words.size() < kMaxWords)
    for (const GrphSpan& s : map.strings) g_words.insert(std::string(grph->payload.begin() + s.begin, grph->payload.begin() + s.end));
  bool changed = true;
  switch (strategy) {
    case 0: case 1: case 2:
      if (map.fields.empty()) return raw_bytes(data, size, max_size);
      for (uint32_t k = 0, n = 1 + below(3); k < n; k++) mutate_field(grph->payload, map, map.fields[below(map.fields.size())]);
      break;
    case 3: changed = dsec && reshape_constant(grph->payload, dsec->payload, map); break;
    case 4:
      if (map.strings.empty()) return raw_bytes(data, size, max_size);
      replace_string(grph->payload, map.strings[below(map.strings.size())]);
      break;
    case 5: changed = edit_nodes(grph->payload, map); break;
    case 6: payload_bytes(grph->payload, max_size - size); break;
    case 7: {
      SgmSection& s = sections[below(sections.size())];
      payload_bytes(s.payload, max_size - size);
      break;
    }
    case 8: return mutate_header(data, size);
    default: return raw_bytes(data, size, max_size);
  }
  if (!changed) return raw_bytes(data, size, max_size);
  std::vector<uint8_t> out = sgm_join(sections);
  if (out.size() > max_size) return raw_bytes(data, size, max_size);
  memcpy(data, out.data(), out.size());
  return out.size();
}
