// The one place an op's front end meets autocast: AutocastInputs decides, from the op's category and the
// thread's autocast state, whether the op must re-run on cast inputs, and holds those inputs.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "kiln/tensor/ops/op_table.h"
#include "kiln/tensor/tensor.h"

namespace kiln::amp::detail {

/// How many device types have autocast on in this thread, 0 inside AutocastOff (the front ends' fast check).
int enabled_device_types();

/// Autocast is off on this thread for the scope's life; is_autocast_enabled() then says false. The autograd engine
/// runs backward under one.
class AutocastOff {
 public:
  AutocastOff();
  ~AutocastOff();
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;
};

/// Usage, first thing in a front end (the recursive call finds its inputs already cast and goes on):
///     if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&a, &b}}) return mm(c[0], c[1]);
/// Inputs that are undefined, not floating, float64 or on another device type pass through unchanged.
class AutocastInputs {
 public:
  AutocastInputs(AutocastCategory category, std::initializer_list<const Tensor*> inputs) {
    if (enabled_device_types() != 0) decide(category, inputs);
  }
  /// True when the op must run again on operator[]'s tensors.
  explicit operator bool() const { return !cast_.empty(); }
  const Tensor& operator[](size_t i) const { return cast_[i]; }

 private:
  void decide(AutocastCategory category, std::initializer_list<const Tensor*> inputs);
  std::vector<Tensor> cast_;
};
/// The number of parameter casts the open autocast regions of this thread keep (for tests).
size_t autocast_cache_size();
}  // namespace kiln::amp::detail
