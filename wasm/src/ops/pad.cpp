// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Pad(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Pad(OpCtx&) {}

} // namespace sg
