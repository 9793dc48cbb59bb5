// The structure-aware mutator behind LLVMFuzzerCustomMutator: edits a model's fields, tensors,
// nodes and strings as the format defines them and re-seals every checksum; byte-level edits
// go through libFuzzer's own LLVMFuzzerMutate.
#pragma once
#include <stddef.h>
#include <stdint.h>

size_t sgm_mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed);
