// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_MaxPool(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_MaxPool(OpCtx&) {}

bool prepare_AveragePool(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_AveragePool(OpCtx&) {}

bool prepare_GlobalAveragePool(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_GlobalAveragePool(OpCtx&) {}

bool prepare_GlobalMaxPool(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_GlobalMaxPool(OpCtx&) {}

} // namespace sg
