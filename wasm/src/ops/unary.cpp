// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Relu(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Relu(OpCtx&) {}

bool prepare_Sigmoid(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Sigmoid(OpCtx&) {}

bool prepare_Tanh(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Tanh(OpCtx&) {}

bool prepare_HardSwish(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_HardSwish(OpCtx&) {}

bool prepare_Silu(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Silu(OpCtx&) {}

bool prepare_LeakyRelu(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_LeakyRelu(OpCtx&) {}

bool prepare_HardSigmoid(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_HardSigmoid(OpCtx&) {}

bool prepare_Clip(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Clip(OpCtx&) {}

} // namespace sg
