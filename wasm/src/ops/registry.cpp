#include "op.h"
#include "registry.h"

namespace sg {

#define SG_DECLARE(N, OPT) bool prepare_##N(OpCtx&); void run_##N(OpCtx&);
SG_OPS(SG_DECLARE)
#undef SG_DECLARE

static const OpDef kOps[] = {
#define SG_ENTRY(N, OPT) {#N, prepare_##N, run_##N, OPT},
    SG_OPS(SG_ENTRY)
#undef SG_ENTRY
};

const OpDef* op_find(const std::string& name) {
  for (const OpDef& op : kOps)
    if (name == op.name) return &op;
  return nullptr;
}
int op_count() { return (int)(sizeof(kOps) / sizeof(kOps[0])); }
const OpDef& op_at(int index) { return kOps[index]; }

} // namespace sg
