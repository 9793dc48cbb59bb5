// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Conv(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Conv(OpCtx&) {}

} // namespace sg
