// Native builds only (fuzz/README.md): the runtime's SIMD128 kernels have no scalar twin, so
// they compile through SIMDe's portable implementation of the same intrinsics, and the code
// under the sanitizers is the code that ships. Found before the compiler's own
// wasm_simd128.h, which only targets wasm.
#pragma once
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/wasm/simd128.h>
// Set after SIMDe has chosen its portable path: the runtime's own `#ifdef __wasm_simd128__`
// blocks (ops/binary.cpp) then take the SIMD path too instead of their scalar fallback.
#ifndef __wasm_simd128__
#define __wasm_simd128__ 1
#endif
