/* sparsegate runtime: the flat C ABI shared by every host (JS, CPython/wasmtime, Pyodide).
 *
 * Conventions:
 * - Pointers are wasm32 addresses; counts are 32-bit; 64-bit quantities are doubles so that
 *   every host reads them without BigInt.
 * - A function that can fail returns NULL or a non-zero code and leaves a message in
 *   sg_last_error() naming the file section, node, tensor or shape at fault. It never traps.
 * - The model bytes passed to sg_model_load stay owned by the caller and must outlive the
 *   model: constant tensors are used in place (zero copy). Allocate them with sg_alloc, which
 *   returns 64-byte aligned memory.
 */
#ifndef SPARSEGATE_H
#define SPARSEGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_model sg_model;
typedef struct sg_session sg_session;

#define SG_OK 0
#define SG_ERR_FORMAT 1   /* the file is malformed, truncated or corrupt */
#define SG_ERR_UNSUPPORTED 2 /* op, dtype or attribute this runtime does not know */
#define SG_ERR_INVALID 3  /* a bad argument from the host (index, size) */
#define SG_ERR_MEMORY 4   /* allocation failed, or the runtime's own caps (1 GiB of activations,
                             1 GiB of per-node state) would be exceeded */
#define SG_ERR_LIMIT 5    /* a limit the host set (sg_session_create_limited) would be exceeded */

int sg_version(void); /* major * 10000 + minor * 100 + patch */
const char* sg_last_error(void);
/* The SG_ERR_* code of the last failure (also after sg_model_load or sg_session_create
 * returned NULL); SG_OK after a load or create that succeeded. */
int sg_last_error_code(void);

void* sg_alloc(uint32_t size); /* 64-byte aligned; NULL when out of memory */
void sg_free(void* ptr);

/* Model: parsed and fully validated file. NULL on error (see sg_last_error). */
sg_model* sg_model_load(const uint8_t* data, uint32_t size);
void sg_model_free(sg_model* model);
const char* sg_model_metadata(const sg_model* model); /* the META JSON, NUL-terminated */
uint32_t sg_model_metadata_size(const sg_model* model);

/* Session: planned memory and packed weights for one model; run it many times. */
sg_session* sg_session_create(const sg_model* model);
/* The same with limits for pages that run untrusted models (0 = no limit; negative or NaN:
 * SG_ERR_INVALID). max_bytes bounds the memory the session allocates: activations (arena,
 * input and output buffers) plus what nodes prepare (packed weights, index tables, scratch);
 * not the model bytes, which the caller owns. max_macs bounds the dense multiply-accumulates
 * of one run (sg_session_macs_dense). Both are checked while the session is planned, before
 * the memory is allocated: a model over either is refused with SG_ERR_LIMIT and a message
 * giving what it needs. Doubles, as every 64-bit quantity of this ABI. */
sg_session* sg_session_create_limited(const sg_model* model, double max_bytes, double max_macs);
void sg_session_free(sg_session* session);

int sg_session_input_count(const sg_session* s);
const char* sg_session_input_name(const sg_session* s, int index);
int sg_session_input_rank(const sg_session* s, int index);
int sg_session_input_dim(const sg_session* s, int index, int axis);
float* sg_session_input_data(sg_session* s, int index); /* write numel floats here */

int sg_session_output_count(const sg_session* s);
const char* sg_session_output_name(const sg_session* s, int index);
int sg_session_output_rank(const sg_session* s, int index);
int sg_session_output_dim(const sg_session* s, int index, int axis);
const float* sg_session_output_data(const sg_session* s, int index); /* valid until next run */

int sg_session_run(sg_session* s); /* SG_OK or an error code */

/* Profiling (additive, debug): runs only nodes [first, last) in graph order, on whatever the
 * activation memory holds (run the whole session first: values are then those of that run,
 * except tensors whose memory a later node reused). For timing ops from the host; outputs and
 * the overall MAC total are not meaningful afterwards (per-node counts are updated). */
int sg_session_run_range(sg_session* s, int first, int last);

/* Gating knob: 0 = dense (bit-identical to an ungated run); 1 = every gated layer at its
 * calibrated sparsity. Models without gates ignore it. */
int sg_session_set_gate(sg_session* s, float gate);

/* Statistics of the last run. */
double sg_session_macs_dense(const sg_session* s);
double sg_session_macs_executed(const sg_session* s);
int sg_session_node_count(const sg_session* s);
const char* sg_session_node_name(const sg_session* s, int node);
const char* sg_session_node_op(const sg_session* s, int node);
double sg_session_node_macs_dense(const sg_session* s, int node);
double sg_session_node_macs_executed(const sg_session* s, int node);
uint32_t sg_session_arena_bytes(const sg_session* s); /* activation memory planned */
/* Bytes counted against max_bytes: activations plus per-node state and scratch. */
double sg_session_memory_bytes(const sg_session* s);

/* The validated graph, for executors outside the runtime (the WebGPU backend): read from the
 * model this session was created from, after the loader and every op's prepare accepted it,
 * so no host ever parses the file a second time. Indices are checked: out of range sets
 * SG_ERR_INVALID in sg_last_error and returns -2 (counts, indices), -1 (rank, dim, kind,
 * dtype, attribute type and size), NULL (names, data) or NaN (attribute values). */
int sg_session_tensor_count(const sg_session* s);
const char* sg_session_tensor_name(const sg_session* s, int tensor);
int sg_session_tensor_kind(const sg_session* s, int tensor);  /* 0 activation, 1 constant, 2 graph input */
int sg_session_tensor_dtype(const sg_session* s, int tensor); /* 1 float32, 3 int8, 6 int32, 10 float16 */
int sg_session_tensor_rank(const sg_session* s, int tensor);
int sg_session_tensor_dim(const sg_session* s, int tensor, int axis);
/* Constants only (NULL and size 0 for other kinds): their bytes in wasm memory, valid while
 * the model lives; dequantized weight-only constants are already float32 here. */
const void* sg_session_tensor_data(const sg_session* s, int tensor);
uint32_t sg_session_tensor_data_size(const sg_session* s, int tensor);
int sg_session_node_input_count(const sg_session* s, int node);
int sg_session_node_input(const sg_session* s, int node, int i);  /* tensor index; -1 = absent optional */
int sg_session_node_output_count(const sg_session* s, int node);
int sg_session_node_output(const sg_session* s, int node, int i); /* tensor index */
int sg_session_node_attr_count(const sg_session* s, int node);
const char* sg_session_node_attr_name(const sg_session* s, int node, int attr);
int sg_session_node_attr_type(const sg_session* s, int node, int attr); /* 1 ints, 2 floats, 3 string */
int sg_session_node_attr_size(const sg_session* s, int node, int attr); /* values, or string bytes */
double sg_session_node_attr_value(const sg_session* s, int node, int attr, int i); /* ints and floats */
const char* sg_session_node_attr_string(const sg_session* s, int node, int attr); /* NUL-terminated */

#ifdef __cplusplus
}
#endif
#endif
