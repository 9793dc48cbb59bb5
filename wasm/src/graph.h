// The loaded model as the runtime sees it: tensors, nodes and their attributes.
// Everything here has been validated by the loader (offsets, sizes, indices); shapes are
// static and were fixed by the converter. Ops still check that the shapes they are given
// agree with their attributes (ops/*.cpp, `prepare`).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <string>
#include <vector>

namespace sg {

enum DType : uint8_t { DT_F32 = 1, DT_I8 = 3, DT_I32 = 6, DT_I64 = 7, DT_F16 = 10 };
size_t dtype_size(uint8_t dtype); // 0 for an unknown dtype
const char* dtype_name(uint8_t dtype); // "float32", …, "unknown"

enum TensorKind : uint16_t { TK_ACTIVATION = 0, TK_CONSTANT = 1, TK_INPUT = 2 };

constexpr int kMaxRank = 8;
// Loader limits: every dim fits an int (hosts read dims as int); every numel is at most
// kMaxNumel, so numel * 8 and sums of a few of them never overflow int64.
constexpr int64_t kMaxDim = 0x7FFFFFFF;
constexpr int64_t kMaxNumel = (int64_t)1 << 40;

struct Shape {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
  }
  bool operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; i++) if (dims[i] != o.dims[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const; // "[1, 3, 224, 224]"
};

struct Tensor {
  std::string name;
  uint8_t dtype = DT_F32;
  uint16_t kind = TK_ACTIVATION;
  Shape shape;
  const uint8_t* data = nullptr; // constants: points into the model bytes (zero copy)
  uint64_t data_size = 0;
};

struct Attr {
  enum Type : uint8_t { INTS = 1, FLOATS = 2, STRING = 3 };
  std::string name;
  uint8_t type = INTS;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string str;
};

struct Node {
  std::string op;
  std::string name;
  std::vector<int> inputs;  // tensor indices, -1 = absent optional input
  std::vector<int> outputs; // tensor indices
  std::vector<Attr> attrs;
  int op_index = -1;        // index in the op registry, set by the loader

  const Attr* attr(const char* key) const;
  // Typed getters; `fallback` when the attribute is absent. A present attribute of the
  // wrong type is a format error reported by the op's prepare (see has_attr_type).
  int64_t attr_int(const char* key, int64_t fallback) const;
  float attr_float(const char* key, float fallback) const;
  std::vector<int64_t> attr_ints(const char* key) const; // empty when absent
  std::vector<float> attr_floats(const char* key) const;
  std::string attr_string(const char* key, const char* fallback) const;
};

struct Model {
  // The caller owns the file bytes; constant tensors point into them.
  std::string metadata;                    // META JSON
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;
  std::vector<int> inputs, outputs;
  // float32 data of constants computed when the model loads (Dequantize nodes, folded by
  // fold_dequantize in ops/dequantize.cpp); malloc'ed, owned here, freed with the model.
  std::vector<void*> folded;

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();
};

} // namespace sg
