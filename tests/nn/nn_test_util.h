// Helpers for the nn tests: seeded random inputs, gradcheck through a module's parameters, error matching.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"

namespace kiln::test {

/// Standard normal values of the given shape, dtype and device from a fixed seed.
inline Tensor rnd(const Shape& shape, Device dev, DType dt = kFloat64, uint64_t seed = 1) {
  Generator gen(seed);
  return randn(shape, TensorOptions().dtype(dt).device(dev), &gen);
}

/// Runs autograd::gradcheck on call(inputs) with respect to the inputs and every parameter of m (which must be
/// float64). Parameters are swapped in place for the perturbed evaluations and restored afterwards.
inline void gradcheck_module(nn::Module& m, const std::vector<Tensor>& inputs,
                             const std::function<Tensor(const std::vector<Tensor>&)>& call,
                             autograd::GradcheckOptions opts = {}) {
  std::vector<Tensor> params = m.parameters();
  std::vector<Tensor> originals;
  for (auto& p : params) originals.push_back(p.detach().clone());
  size_t n_in = inputs.size();
  std::vector<Tensor> all = inputs;
  all.insert(all.end(), params.begin(), params.end());
  auto fn = [&](const autograd::TensorList& a) {
    {
      NoGradGuard g;
      for (size_t i = 0; i < params.size(); ++i) {
        Tensor p = params[i];
        p.copy_(a[n_in + i].is_same(p) ? originals[i] : a[n_in + i]);
      }
    }
    return call(std::vector<Tensor>(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n_in)));
  };
  try {
    EXPECT_TRUE(autograd::gradcheck(fn, all, opts));
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  NoGradGuard g;
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(originals[i]);
}

/// gradcheck of a plain function, reporting the failure message instead of throwing.
inline void expect_gradcheck(const std::function<Tensor(const autograd::TensorList&)>& fn,
                             const autograd::TensorList& inputs, autograd::GradcheckOptions opts = {}) {
  try {
    EXPECT_TRUE(autograd::gradcheck(fn, inputs, opts));
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

/// Leaf float64 copy of t that requires grad.
inline Tensor leaf(const Tensor& t) {
  Tensor c = t.detach().clone();
  c.requires_grad_(true);
  return c;
}
}  // namespace kiln::test

/// Expects stmt to throw ErrorType whose message contains every one of the given substrings.
#define EXPECT_THROW_WITH(stmt, ErrorType, ...)                                                      \
  do {                                                                                               \
    try {                                                                                            \
      stmt;                                                                                          \
      ADD_FAILURE() << "expected " #ErrorType " from " #stmt;                                       \
    } catch (const ErrorType& e) {                                                                   \
      std::string msg = e.what();                                                                    \
      for (const std::string& part : std::vector<std::string>{__VA_ARGS__})                         \
        EXPECT_NE(msg.find(part), std::string::npos) << "message lacks '" << part << "': " << msg;   \
    } catch (const std::exception& e) {                                                              \
      ADD_FAILURE() << "expected " #ErrorType " from " #stmt ", got another error: " << e.what();   \
    }                                                                                                \
  } while (0)
