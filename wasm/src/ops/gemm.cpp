// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Gemm(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Gemm(OpCtx&) {}

bool prepare_MatMul(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_MatMul(OpCtx&) {}

} // namespace sg
