// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Concat(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Concat(OpCtx&) {}

bool prepare_Split(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Split(OpCtx&) {}

} // namespace sg
