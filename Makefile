# One entry point for building and testing. `make demo` and `make test` install what they need.
EMCC ?= emcc
WASM_SRC := $(wildcard wasm/src/*.cpp wasm/src/ops/*.cpp wasm/src/kernels/*.cpp)
WASM_HDR := $(wildcard wasm/include/*.h wasm/src/*.h wasm/src/ops/*.h wasm/src/kernels/*.h)
LPAREN := (
WASM_EXPORTS := $(shell sed -n 's/^[^$(LPAREN)]*[ *]\(sg_[a-z_0-9]*\)$(LPAREN).*/_\1/p' wasm/include/sparsegate.h | sort -u | paste -sd, -),_free
WASM_FLAGS := -O3 -msimd128 -std=c++17 -fno-exceptions -fno-rtti -Iwasm/include \
  -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=16MB \
  -sEXPORTED_FUNCTIONS=$(WASM_EXPORTS)

.PHONY: wasm setup demo test test-fast clean

wasm: build/sparsegate.wasm

build/sparsegate.wasm: $(WASM_SRC) $(WASM_HDR) Makefile
	@mkdir -p build pytools/sparsegate/runtime web/src
	$(EMCC) $(WASM_FLAGS) -o $@ $(WASM_SRC)
	cp $@ pytools/sparsegate/runtime/sparsegate.wasm
	cp $@ web/src/sparsegate.wasm

setup:
	bash scripts/setup.sh

demo: setup
	sparsegate demo

test: setup
	python3 -m pytest -q

test-fast: wasm
	python3 -m pytest -q -m "not slow and not browser"

clean:
	rm -rf build pytools/sparsegate/runtime/sparsegate.wasm web/src/sparsegate.wasm
