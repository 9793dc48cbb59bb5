// Every op the runtime knows, once. Adding an op: one line here, one file in ops/ defining
// prepare_<Name> and run_<Name>, one row in tests/test_ops.py.
#pragma once

#define SG_OPS(X)                                                                          \
  X(Conv) X(Gemm) X(MatMul)                                                                \
  X(Add) X(Sub) X(Mul) X(Div) X(PRelu)                                                     \
  X(Relu) X(Sigmoid) X(Tanh) X(HardSwish) X(Silu) X(LeakyRelu) X(HardSigmoid) X(Clip)      \
  X(MaxPool) X(AveragePool) X(GlobalAveragePool) X(GlobalMaxPool)                          \
  X(Concat) X(Split) X(Slice) X(Reshape) X(Transpose) X(Pad) X(Resize) X(Softmax)           \
  X(Dequantize) X(ConvInt8) X(GemmInt8)                                                    \
  X(SparseConv)                                                                            \
  X(SparseGemm)
