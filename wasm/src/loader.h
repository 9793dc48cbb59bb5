// Parses and validates an .sgm file (docs/format.md) into a Model. Every offset, size,
// count, index and shape is checked before use; on failure the last error names the
// section, tensor or node at fault and the function returns false.
#pragma once
#include "graph.h"

namespace sg {

bool model_parse(const uint8_t* data, uint64_t size, Model* model);

} // namespace sg
