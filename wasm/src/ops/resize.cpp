// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Resize(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Resize(OpCtx&) {}

} // namespace sg
