#include "graph.h"
#include "common.h"

namespace sg {

size_t dtype_size(uint8_t dtype) {
  switch (dtype) {
    case DT_F32: return 4;
    case DT_I8: return 1;
    case DT_I32: return 4;
    case DT_I64: return 8;
    case DT_F16: return 2;
    default: return 0;
  }
}

const char* dtype_name(uint8_t dtype) {
  switch (dtype) {
    case DT_F32: return "float32";
    case DT_I8: return "int8";
    case DT_I32: return "int32";
    case DT_I64: return "int64";
    case DT_F16: return "float16";
    default: return "unknown";
  }
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank; i++) {
    if (i) s += ", ";
    s += str_format("%lld", (long long)dims[i]);
  }
  return s + "]";
}

const Attr* Node::attr(const char* key) const {
  for (const Attr& a : attrs)
    if (a.name == key) return &a;
  return nullptr;
}

int64_t Node::attr_int(const char* key, int64_t fallback) const {
  const Attr* a = attr(key);
  if (!a || a->type != Attr::INTS || a->ints.empty()) return fallback;
  return a->ints[0];
}

float Node::attr_float(const char* key, float fallback) const {
  const Attr* a = attr(key);
  if (!a) return fallback;
  if (a->type == Attr::FLOATS && !a->floats.empty()) return a->floats[0];
  if (a->type == Attr::INTS && !a->ints.empty()) return (float)a->ints[0];
  return fallback;
}

std::vector<int64_t> Node::attr_ints(const char* key) const {
  const Attr* a = attr(key);
  if (!a || a->type != Attr::INTS) return {};
  return a->ints;
}

std::vector<float> Node::attr_floats(const char* key) const {
  const Attr* a = attr(key);
  if (!a) return {};
  if (a->type == Attr::FLOATS) return a->floats;
  if (a->type == Attr::INTS) {
    std::vector<float> out;
    for (int64_t v : a->ints) out.push_back((float)v);
    return out;
  }
  return {};
}

std::string Node::attr_string(const char* key, const char* fallback) const {
  const Attr* a = attr(key);
  if (!a || a->type != Attr::STRING) return fallback;
  return a->str;
}

} // namespace sg
