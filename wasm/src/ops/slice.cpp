// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Slice(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Slice(OpCtx&) {}

} // namespace sg
