// The .sgm container (docs/format.md) as the mutator sees it: sections split out of a file,
// joined back with a fresh layout, and checksums re-sealed, so that mutations reach the
// parser's own checks instead of dying at a CRC.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string>
#include <vector>

struct SgmSection {
  char kind[4];
  uint32_t flags;
  std::vector<uint8_t> payload;
};

// Splits a file whose header and section table are sane (every section inside the file);
// false otherwise, and then only byte-level mutations apply.
bool sgm_split(const uint8_t* data, size_t size, std::vector<SgmSection>* out);
// A file as the writer lays it out: header, table, 64-aligned payloads, every CRC valid.
std::vector<uint8_t> sgm_join(const std::vector<SgmSection>& sections);
// Recomputes every CRC that lies inside the file, whatever else is wrong with it.
void sgm_reseal(uint8_t* data, size_t size);
SgmSection* sgm_find(std::vector<SgmSection>& sections, const char* kind);

// Where each field of a GRPH payload lies, walked as loader.cpp parses it. The walk stops at
// the first thing that does not parse; what was mapped until then stays usable.
enum GrphFieldKind { F_COUNT, F_DTYPE, F_RANK, F_TENSOR_KIND, F_DIM, F_DATA_OFFSET, F_DATA_SIZE,
                     F_INDEX, F_ATTR_TYPE, F_INT, F_FLOAT };
struct GrphField {
  uint32_t at;
  uint8_t width;
  uint8_t kind;
};
struct GrphSpan {
  uint32_t begin, end;
};
struct GrphTensor {
  GrphSpan span;
  uint32_t dims_at, offset_at;  // the rank i64 dims, then data offset and size (u64 each)
  uint8_t dtype, rank;
  uint16_t kind;
};
struct GrphNode {
  GrphSpan span, attrs;  // attrs: from the attribute count to the end of the node
};
struct GrphMap {
  std::vector<GrphField> fields;
  std::vector<GrphSpan> strings;  // every string's bytes (op, names, string attributes)
  std::vector<GrphTensor> tensors;
  std::vector<GrphNode> nodes;
  uint32_t tensor_count = 0, node_count_at = 0;
};
void grph_map(const std::vector<uint8_t>& g, GrphMap* map);
