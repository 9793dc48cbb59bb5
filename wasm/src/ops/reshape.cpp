// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Reshape(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Reshape(OpCtx&) {}

} // namespace sg
