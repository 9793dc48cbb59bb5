// Every op the runtime knows, once, with its input contract. Adding an op: one line here, one
// file in ops/ defining prepare_<Name> and run_<Name>, one row in tests/test_ops.py.
//
// The second column lists the input positions that may be absent (index -1 in the file):
// the loader refuses a -1 anywhere else, so no prepare ever reads tensors[-1]. Positions the
// op requires in some configurations only (a gated Conv needs its bias) are listed here and
// checked by the op's prepare.
#pragma once

#define SG_OPT(i) (1u << (i))
#define SG_NO_OPT 0u

#define SG_OPS(X)                                                                          \
  X(Conv, SG_OPT(2) | SG_OPT(3) | SG_OPT(4))                                               \
  X(ConvTranspose, SG_OPT(2))                                                              \
  X(Gemm, SG_OPT(2) | SG_OPT(3) | SG_OPT(4))                                               \
  X(MatMul, SG_NO_OPT)                                                                     \
  X(Add, SG_NO_OPT) X(Sub, SG_NO_OPT) X(Mul, SG_NO_OPT) X(Div, SG_NO_OPT)                  \
  X(PRelu, SG_NO_OPT)                                                                      \
  X(Relu, SG_NO_OPT) X(Sigmoid, SG_NO_OPT) X(Tanh, SG_NO_OPT) X(HardSwish, SG_NO_OPT)      \
  X(Silu, SG_NO_OPT) X(LeakyRelu, SG_NO_OPT) X(HardSigmoid, SG_NO_OPT) X(Clip, SG_NO_OPT)  \
  X(Exp, SG_NO_OPT) X(Log, SG_NO_OPT) X(Sqrt, SG_NO_OPT) X(Abs, SG_NO_OPT) X(Neg, SG_NO_OPT) \
  X(Reciprocal, SG_NO_OPT) X(Floor, SG_NO_OPT) X(Ceil, SG_NO_OPT) X(Round, SG_NO_OPT)      \
  X(Sign, SG_NO_OPT) X(Erf, SG_NO_OPT) X(Softplus, SG_NO_OPT) X(Elu, SG_NO_OPT)            \
  X(Selu, SG_NO_OPT) X(Mish, SG_NO_OPT) X(Gelu, SG_NO_OPT) X(Pow, SG_NO_OPT)               \
  X(MaxPool, SG_NO_OPT) X(AveragePool, SG_NO_OPT)                                          \
  X(GlobalAveragePool, SG_NO_OPT) X(GlobalMaxPool, SG_NO_OPT)                              \
  X(Concat, SG_NO_OPT) X(Split, SG_NO_OPT) X(Slice, SG_NO_OPT) X(Reshape, SG_NO_OPT)       \
  X(Transpose, SG_NO_OPT) X(Pad, SG_NO_OPT)                                                \
  X(Resize, SG_OPT(1) | SG_OPT(2) | SG_OPT(3)) /* roi, scales, sizes: attributes in the IR */ \
  X(Softmax, SG_NO_OPT)                                                                    \
  X(ReduceSum, SG_NO_OPT) X(ReduceMean, SG_NO_OPT) X(ReduceMax, SG_NO_OPT)                \
  X(ReduceMin, SG_NO_OPT) X(ReduceProd, SG_NO_OPT) X(ReduceL2, SG_NO_OPT)                 \
  X(ReduceLogSumExp, SG_NO_OPT)                                                            \
  X(LayerNormalization, SG_OPT(2))       /* B is optional */                               \
  X(Dequantize, SG_OPT(1))               /* float16 data takes no scale */                 \
  X(ConvInt8, SG_OPT(3)) X(GemmInt8, SG_OPT(3))                                            \
  X(SparseConv, SG_OPT(4))                                                                 \
  X(SparseGemm, SG_OPT(4))
