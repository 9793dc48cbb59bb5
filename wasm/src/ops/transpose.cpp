// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Transpose(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Transpose(OpCtx&) {}

} // namespace sg
