# One entry point for building and testing. `make demo` and `make test` install what they need.
EMCC ?= emcc
WASM_SRC := $(wildcard wasm/src/*.cpp wasm/src/ops/*.cpp wasm/src/kernels/*.cpp)
WASM_HDR := $(wildcard wasm/include/*.h wasm/src/*.h wasm/src/ops/*.h wasm/src/kernels/*.h)
LPAREN := (
WASM_EXPORTS := $(shell sed -n 's/^[^$(LPAREN)]*[ *]\(sg_[a-z_0-9]*\)$(LPAREN).*/_\1/p' wasm/include/sparsegate.h | sort -u | paste -sd, -),_free
WASM_FLAGS := -O3 -msimd128 -std=c++17 -fno-exceptions -fno-rtti -Iwasm/include \
  -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=16MB \
  -sEXPORTED_FUNCTIONS=$(WASM_EXPORTS)

# The pthreads build (Emscripten glue): same sources, -pthread and SG_THREADS (kernels/parallel.*).
# PTHREAD_POOL_SIZE is read from the factory's argument (web/src/index.js passes threads - 1).
# Emscripten 3.1's JS optimizer needs Node's system modules (acorn) on NODE_PATH.
WASM_MT_FLAGS := -O3 -msimd128 -std=c++17 -fno-exceptions -fno-rtti -Iwasm/include -pthread -DSG_THREADS \
  -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createSparsegateMt -sENVIRONMENT=web,worker,node \
  -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=32MB -sMAXIMUM_MEMORY=2GB -sFILESYSTEM=0 \
  -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0 -Wno-pthreads-mem-growth \
  -sPTHREAD_POOL_SIZE=Module.sgPoolSize \
  -sEXPORTED_FUNCTIONS=$(WASM_EXPORTS),_sg_threads_set,_sg_threads_get,_sg_threads_ready,_sg_threads_max
MT_OUT := sparsegate-mt.mjs sparsegate-mt.wasm sparsegate-mt.worker.js

.PHONY: wasm wasm-mt bench-peak setup demo test test-fast dist lite lite-serve clean

wasm: pytools/sparsegate/runtime/sparsegate.wasm web/src/sparsegate.wasm

build/sparsegate.wasm: $(WASM_SRC) $(WASM_HDR) Makefile
	@mkdir -p build
	$(EMCC) $(WASM_FLAGS) -o $@ $(WASM_SRC)

# The copies the Python and JS packages ship (a missing copy is made again from the build).
pytools/sparsegate/runtime/sparsegate.wasm web/src/sparsegate.wasm: build/sparsegate.wasm
	cp $< $@

wasm-mt: build/mt/sparsegate-mt.mjs

build/mt/sparsegate-mt.mjs: $(WASM_SRC) $(WASM_HDR) Makefile
	@mkdir -p build/mt web/src
	NODE_PATH=$${NODE_PATH:-/usr/share/nodejs} $(EMCC) $(WASM_MT_FLAGS) -o $@ $(WASM_SRC)
	cd build/mt && cp $(MT_OUT) ../../web/src/
	cp build/mt/sparsegate-mt.worker.js web/src/sparsegate-mt.worker.cjs  # Node loads workers as CommonJS

# The SIMD peak microbenchmark that `sparsegate bench` compares the kernels with.
bench-peak: build/peak.wasm

build/peak.wasm: bench/peak.c
	@mkdir -p build
	$(EMCC) -O3 -msimd128 -sSTANDALONE_WASM --no-entry -o $@ $<

setup:
	bash scripts/setup.sh

demo: setup
	python3 -m sparsegate demo

test: setup
	python3 -m pytest -q

test-fast: wasm wasm-mt
	python3 -m pytest -q -m "not slow and not browser"

# Release artifacts in dist/: the wheel and the npm tarball, each carrying the runtime.
dist: wasm wasm-mt
	rm -rf dist && mkdir -p dist
	python3 -m pip wheel -q --no-deps --no-build-isolation -w dist .
	cd web && npm pack --silent --pack-destination ../dist

# The offline JupyterLite site of examples/jupyterlite/ in build/lite/site (scripts/build_lite.py);
# lite-serve serves it on 127.0.0.1:8765. LITE_ADD="a.sgm b.sgm" puts your files beside the notebooks.
LITE_ARGS = $(foreach f,$(LITE_ADD),--add $(f))
lite: wasm
	python3 scripts/build_lite.py $(LITE_ARGS)

lite-serve: wasm
	python3 scripts/build_lite.py --serve $(LITE_ARGS)

clean:
	rm -rf build pytools/sparsegate/runtime/sparsegate.wasm web/src/sparsegate.wasm \
	  $(addprefix web/src/,$(MT_OUT) sparsegate-mt.worker.cjs)

# Native runtime under AddressSanitizer + UndefinedBehaviorSanitizer (Debian clang, fuzz/README.md).
# `make sanitize`: every fixture, regression input, seed (one-node model of each op) and cached
# real model through the harness; `make fuzz`: a bounded libFuzzer run (FUZZ_SECONDS).
NATIVE_CXX ?= clang++
NATIVE := build/native
NATIVE_FLAGS := -std=c++17 -fno-exceptions -fno-rtti -g -O1 -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=all -Ifuzz/include -Iwasm/include -Iwasm/src
NATIVE_RUNTIME := $(patsubst wasm/src/%.cpp,$(NATIVE)/obj/%.o,$(WASM_SRC))
FUZZ_SECONDS ?= 120
FUZZ_FLAGS ?=

.PHONY: sanitize fuzz

$(NATIVE)/obj/%.o: wasm/src/%.cpp $(WASM_HDR) fuzz/include/wasm_simd128.h
	@mkdir -p $(dir $@)
	$(NATIVE_CXX) $(NATIVE_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(NATIVE)/obj/fuzz/%.o: fuzz/%.cpp $(wildcard fuzz/*.h) $(WASM_HDR)
	@mkdir -p $(dir $@)
	$(NATIVE_CXX) $(NATIVE_FLAGS) -c -o $@ $<

$(NATIVE)/sanitize: $(NATIVE)/obj/fuzz/sanitize_main.o $(NATIVE)/obj/fuzz/harness.o $(NATIVE_RUNTIME)
	$(NATIVE_CXX) $(NATIVE_FLAGS) -o $@ $^

$(NATIVE)/fuzz: $(addprefix $(NATIVE)/obj/fuzz/,fuzz_target.o harness.o mutate.o sgm.o) $(NATIVE_RUNTIME)
	$(NATIVE_CXX) $(NATIVE_FLAGS) -fsanitize=fuzzer -o $@ $^

$(NATIVE)/seeds/.done: fuzz/make_seeds.py tests/test_ops.py $(wildcard tests/fixtures/*.sgm)
	python3 fuzz/make_seeds.py $(NATIVE)/seeds $(NATIVE)/models
	@touch $@

sanitize: $(NATIVE)/sanitize $(NATIVE)/seeds/.done
	$(NATIVE)/sanitize fuzz/regressions $(NATIVE)/seeds --name-refusals $(NATIVE)/models

# New inputs go to $(NATIVE)/corpus; a crash, leak or timeout is written to $(NATIVE)/crashes/
# and fails the run (fuzz/README.md: it then becomes a file in fuzz/regressions).
fuzz: $(NATIVE)/fuzz $(NATIVE)/seeds/.done
	@mkdir -p $(NATIVE)/corpus $(NATIVE)/crashes
	$(NATIVE)/fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
	  -print_final_stats=1 -artifact_prefix=$(NATIVE)/crashes/ $(FUZZ_FLAGS) \
	  $(NATIVE)/corpus $(NATIVE)/seeds fuzz/regressions
