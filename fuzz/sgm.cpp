#include "sgm.h"
#include <string.h>
#include "common.h"  // sg::crc32: the runtime's, checked against zlib by every Python test

static const size_t kHeader = 64, kEntry = 32, kMaxSections = 64;

template <typename T> static T get(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}
template <typename T> static void put(uint8_t* p, T v) { memcpy(p, &v, sizeof v); }
static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

bool sgm_split(const uint8_t* data, size_t size, std::vector<SgmSection>* out) {
  if (size < kHeader || memcmp(data, "SGM", 3) != 0) return false;
  uint32_t count = get<uint32_t>(data + 12);
  if (count > kMaxSections || kHeader + kEntry * count > size) return false;
  out->clear();
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* e = data + kHeader + kEntry * i;
    uint64_t offset = get<uint64_t>(e + 8), n = get<uint64_t>(e + 16);
    if (offset > size || n > size - offset) return false;
    SgmSection s;
    memcpy(s.kind, e, 4);
    s.flags = get<uint32_t>(e + 4);
    s.payload.assign(data + offset, data + offset + n);
    out->push_back(std::move(s));
  }
  return true;
}

std::vector<uint8_t> sgm_join(const std::vector<SgmSection>& sections) {
  size_t at = align64(kHeader + kEntry * sections.size());
  std::vector<uint8_t> f(at);
  memcpy(f.data(), "SGM\x01", 4);
  put<uint32_t>(&f[4], 1);
  put<uint32_t>(&f[12], (uint32_t)sections.size());
  for (size_t i = 0; i < sections.size(); i++) {
    const SgmSection& s = sections[i];
    uint8_t* e = &f[kHeader + kEntry * i];
    memcpy(e, s.kind, 4);
    put<uint32_t>(e + 4, s.flags);
    put<uint64_t>(e + 8, f.size());
    put<uint64_t>(e + 16, s.payload.size());
    f.insert(f.end(), s.payload.begin(), s.payload.end());
    f.resize(align64(f.size()));
  }
  put<uint64_t>(&f[16], f.size());
  sgm_reseal(f.data(), f.size());
  return f;
}

void sgm_reseal(uint8_t* data, size_t size) {
  if (size < kHeader) return;
  size_t count = get<uint32_t>(data + 12);
  if (count > kMaxSections) count = kMaxSections;
  while (count && kHeader + kEntry * count > size) count--;
  for (size_t i = 0; i < count; i++) {
    uint8_t* e = data + kHeader + kEntry * i;
    uint64_t offset = get<uint64_t>(e + 8), n = get<uint64_t>(e + 16);
    if (offset <= size && n <= size - offset) put<uint32_t>(e + 24, sg::crc32(data + offset, n));
  }
  put<uint32_t>(data + 24, sg::crc32(data + kHeader, kEntry * count));
}

SgmSection* sgm_find(std::vector<SgmSection>& sections, const char* kind) {
  for (SgmSection& s : sections)
    if (!memcmp(s.kind, kind, 4)) return &s;
  return nullptr;
}

namespace {
struct Walk {
  const std::vector<uint8_t>& g;
  GrphMap* map;
  size_t pos = 0;
  bool ok = true;

  bool has(size_t n) { return ok && (ok = n <= g.size() - pos); }
  uint64_t field(int width, GrphFieldKind kind) {
    if (!has(width)) return 0;
    uint64_t v = 0;
    memcpy(&v, &g[pos], width);
    map->fields.push_back({(uint32_t)pos, (uint8_t)width, (uint8_t)kind});
    pos += width;
    return v;
  }
  void str() {
    uint64_t n = field(4, F_COUNT);
    if (!has(n)) return;
    map->strings.push_back({(uint32_t)pos, (uint32_t)(pos + n)});
    pos += n;
  }
  void indices() {
    uint64_t n = field(4, F_COUNT);
    for (uint64_t i = 0; i < n && ok; i++) field(4, F_INDEX);
  }
};
} // namespace

void grph_map(const std::vector<uint8_t>& g, GrphMap* map) {
  Walk w{g, map};
  uint64_t tensors = w.field(4, F_COUNT);
  for (uint64_t i = 0; i < tensors && w.ok; i++) {
    GrphTensor t;
    t.span.begin = (uint32_t)w.pos;
    w.str();
    t.dtype = (uint8_t)w.field(1, F_DTYPE);
    t.rank = (uint8_t)w.field(1, F_RANK);
    t.kind = (uint16_t)w.field(2, F_TENSOR_KIND);
    t.dims_at = (uint32_t)w.pos;
    for (int d = 0; d < t.rank && w.ok; d++) w.field(8, F_DIM);
    t.offset_at = (uint32_t)w.pos;
    w.field(8, F_DATA_OFFSET);
    w.field(8, F_DATA_SIZE);
    t.span.end = (uint32_t)w.pos;
    if (w.ok) map->tensors.push_back(t);
  }
  map->tensor_count = (uint32_t)map->tensors.size();
  map->node_count_at = (uint32_t)w.pos;
  uint64_t nodes = w.field(4, F_COUNT);
  for (uint64_t k = 0; k < nodes && w.ok; k++) {
    GrphNode n;
    n.span.begin = (uint32_t)w.pos;
    w.str();
    w.str();
    w.indices();
    w.indices();
    n.attrs.begin = (uint32_t)w.pos;
    uint64_t attrs = w.field(4, F_COUNT);
    for (uint64_t a = 0; a < attrs && w.ok; a++) {
      w.str();
      uint8_t type = (uint8_t)w.field(1, F_ATTR_TYPE);
      if (type == 3) {  // a string: its count is its length
        w.str();
        continue;
      }
      if (type != 1 && type != 2) w.ok = false;
      uint64_t n_values = w.field(4, F_COUNT);
      int width = type == 1 ? 8 : 4;
      for (uint64_t v = 0; v < n_values && w.ok; v++) w.field(width, type == 1 ? F_INT : F_FLOAT);
    }
    n.span.end = n.attrs.end = (uint32_t)w.pos;
    if (w.ok) map->nodes.push_back(n);
  }
  w.indices();
  w.indices();
}
