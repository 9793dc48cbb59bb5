#include "common.h"
#include <stdio.h>
#include <string.h>

namespace sg {

static std::string g_error;
static int g_error_code = 0;

std::string str_vformat(const char* fmt, va_list ap) {
  char buf[512];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return std::string(fmt);
  if ((size_t)n < sizeof buf) return std::string(buf, (size_t)n);
  std::string out((size_t)n + 1, '\0');
  vsnprintf(&out[0], out.size(), fmt, ap);
  out.resize((size_t)n);
  return out;
}

std::string str_format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string s = str_vformat(fmt, ap);
  va_end(ap);
  return s;
}

bool set_error(int code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_error = str_vformat(fmt, ap);
  va_end(ap);
  g_error_code = code;
  return false;
}

void set_error_text(int code, const std::string& text) {
  g_error = text;
  g_error_code = code;
}

int last_error_code() { return g_error_code; }
const char* last_error_text() { return g_error.c_str(); }
void clear_error() {
  g_error.clear();
  g_error_code = 0;
}

uint32_t crc32(const uint8_t* data, uint64_t size) {
  static uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < size; i++) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool ByteReader::take(void* dst, uint64_t n) {
  if (!ok || n > size - pos) {
    ok = false;
    if (n) memset(dst, 0, (size_t)n);
    return false;
  }
  if (n) memcpy(dst, data + pos, (size_t)n);
  pos += n;
  return true;
}

uint8_t ByteReader::u8() { uint8_t v; take(&v, 1); return v; }
uint16_t ByteReader::u16() { uint16_t v; take(&v, 2); return v; }
uint32_t ByteReader::u32() { uint32_t v; take(&v, 4); return v; }
int32_t ByteReader::i32() { int32_t v; take(&v, 4); return v; }
uint64_t ByteReader::u64() { uint64_t v; take(&v, 8); return v; }
int64_t ByteReader::i64() { int64_t v; take(&v, 8); return v; }
float ByteReader::f32() { float v; take(&v, 4); return v; }

bool ByteReader::str(std::string* out, uint32_t max_len) {
  uint32_t n = u32();
  if (!ok) return false;
  if (n > max_len || n > size - pos) {
    ok = false;
    return false;
  }
  out->assign((const char*)data + pos, n);
  pos += n;
  return true;
}

} // namespace sg

// libc++ without exceptions calls abort() on impossible paths (a vector beyond max_size,
// operator new failing), and the standalone abort() ends in _Exit -> WASI proc_exit. The
// loader bounds every allocation by the file size, so these paths are unreachable;
// defining _Exit here keeps the module's only import emscripten_notify_memory_growth.
#ifdef __EMSCRIPTEN__
extern "C" void _Exit(int) { __builtin_trap(); }
#endif
