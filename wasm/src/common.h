// Runtime-wide helpers: the last error, CRC-32 and a bounds-checked byte reader.
// Nothing here knows the graph; loader.cpp, session.cpp and api.cpp build on it.
#pragma once
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string>

namespace sg {

// The last error (thread-unsafe by design: the standalone build is single-threaded).
// Returns false so that callers can `return set_error(...)`.
bool set_error(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void set_error_text(int code, const std::string& text);
int last_error_code();
const char* last_error_text();
void clear_error();

// printf-style formatting into a std::string (vsnprintf: no WASI imports in standalone wasm).
std::string str_vformat(const char* fmt, va_list ap);
std::string str_format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

uint32_t crc32(const uint8_t* data, uint64_t size); // zlib polynomial, as zlib.crc32

// Little-endian reader over [data, data + size). Every read checks the remaining bytes; the
// first failure sets `ok = false` and every later read returns zero, so a parser can check
// `ok` once per record and never touches memory outside the buffer.
struct ByteReader {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint64_t pos = 0;
  bool ok = true;

  ByteReader(const uint8_t* d, uint64_t n) : data(d), size(n) {}
  uint64_t remaining() const { return ok ? size - pos : 0; }
  bool take(void* dst, uint64_t n);
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  int32_t i32();
  uint64_t u64();
  int64_t i64();
  float f32();
  // str: u32 length (at most max_len) then bytes. Sets ok = false when too long or truncated.
  bool str(std::string* out, uint32_t max_len);
};

} // namespace sg
