// PLACEHOLDER: replaced by the real implementation.
#include "op.h"

namespace sg {

bool prepare_Softmax(OpCtx& ctx) { return ctx.fail("not implemented yet"); }
void run_Softmax(OpCtx&) {}

} // namespace sg
