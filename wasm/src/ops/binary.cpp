// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Add(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Add(OpCtx&) {}

bool prepare_Sub(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Sub(OpCtx&) {}

bool prepare_Mul(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Mul(OpCtx&) {}

bool prepare_Div(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Div(OpCtx&) {}

bool prepare_PRelu(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_PRelu(OpCtx&) {}

} // namespace sg
