// In-place ops on views of tensors that require grad: CopySlices rebasing and view replay, against PyTorch's
// gradients (tests/data/views_inplace_reference.json, made by scripts/gen_views_reference.py), float64 finite
// differences, CUDA against the reference, and the cases PyTorch refuses.
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "json_reference.h"
#include "autograd/views.h"
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"
#include "ops/view/as_strided.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::TensorList;
using json = nlohmann::json;
using test::expect_close;
using test::expect_values;
using test::message_of;

// The same functions as scripts/gen_views_reference.py, case by case.
using Case = std::function<Tensor(const TensorList&)>;
const std::map<std::string, Case>& cases() {
  static const std::map<std::string, Case> all = {
      {"example",
       [](const TensorList& in) {
         Tensor y = in[0] * 2.0;
         y[0].mul_(3);
         y.narrow(0, 1, 2).add_(1);
         Tensor yt = y.t();
         relu_(yt);
         return y;
       }},
      {"view_of_view",
       [](const TensorList& in) {
         Tensor y = in[0] * 2.0;
         y.t()[1].mul_(in[1]);
         y.view({12}).narrow(0, 6, 4).add_(in[1].narrow(0, 0, 1) * 3.0);
         return y * y;
       }},
      {"transpose_relu",
       [](const TensorList& in) {
         Tensor y = sin(in[0]);
         y.t().mul_(in[1]);
         Tensor yt = y.t();
         relu_(yt);
         return y;
       }},
      {"select_slice",
       [](const TensorList& in) {
         Tensor y = sin(in[0]) * 2.0;
         y.select(1, 2).mul_(in[1]);
         y.slice(1, 0, 4, 2).sub_(in[0].slice(1, 1, 4, 2), 0.5);
         y.narrow(1, 1, 1).div_(in[1].unsqueeze(1));
         return y;
       }},
      {"diagonal",
       [](const TensorList& in) {
         Tensor y = in[0] * in[0];
         ops::as_strided(y, {3}, {y.stride(0) + y.stride(1)}, y.storage_offset()).mul_(in[1]);
         return sum(y, {0});
       }},
      {"base_then_view",
       [](const TensorList& in) {
         Tensor y = in[0] * 2.0;
         Tensor v = y.narrow(0, 1, 2);
         y.mul_(in[1]);
         return v * 3.0;
       }},
      {"two_views",
       [](const TensorList& in) {
         Tensor y = in[0] * 2.0;
         Tensor a = y[0], b = y[2];
         a.mul_(in[1]);
         b.add_(a);
         return y;
       }},
      {"expand_after_base",
       [](const TensorList& in) {
         Tensor y = sum(in[0], {1}, true);
         Tensor e = y.expand({3, 4});
         y.mul_(in[1]);
         return e * in[0];
       }},
      {"base_without_grad",
       [](const TensorList& in) {
         Tensor y = zeros({3, 4}, in[0].options());
         y.narrow(0, 0, 2).add_(in[0].narrow(0, 0, 2));
         y[2].add_(in[0][2] * in[0][2]);
         return y * 1.5;
       }},
      {"copy_into_view",
       [](const TensorList& in) {
         Tensor y = in[0] * 2.0;
         y[1].copy_(in[1]);
         y.select(1, 3).fill_(0.5);
         return y * in[0];
       }},
      {"chain_on_view",
       [](const TensorList& in) {
         Tensor y = in[0] * 1.0;
         Tensor v = y.view({2, 6});
         v.narrow(1, 1, 3).mul_(2);
         v[1].clamp_(-0.5, 0.8);
         addcmul_(v, in[0].view({2, 6}), in[1], 0.5);
         return tanh(y);
       }},
      {"noncontiguous_base",
       [](const TensorList& in) {
         Tensor y = in[0].t() * 2.0;
         Tensor v = y[1];
         y.narrow(1, 0, 2).mul_(in[1]);
         return v * y[2];
       }},
  };
  return all;
}

const json& reference() {
  static const json data = test::load_json_reference("views_inplace_reference.json", "scripts/gen_views_reference.py");
  return data;
}

Tensor from_json(const json& values, const Shape& shape, Device dev) {
  return tensor(values.get<std::vector<double>>(), shape, TensorOptions().dtype(kFloat64).device(dev));
}

class ViewsInplace : public test::DeviceTest {};
INSTANTIATE_DEVICE_TESTS(ViewsInplace);

// Every case: output and every input's gradient against PyTorch's, on every device.
TEST_P(ViewsInplace, MatchesPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  ASSERT_EQ(reference()["cases"].size(), cases().size()) << "a case is missing on one side";
  for (const json& c : reference()["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    ASSERT_TRUE(cases().count(name)) << "no kiln function for " << name;
    TensorList in;
    for (const json& i : c["inputs"])
      in.push_back(from_json(i["values"], i["shape"].get<Shape>(), dev()).requires_grad_());
    Tensor out = cases().at(name)(in);
    expect_close(out, from_json(c["output"], out.sizes(), kCPU), 1e-9, 1e-12);
    out.backward(from_json(c["grad_output"], out.sizes(), dev()));
    for (size_t k = 0; k < in.size(); ++k) {
      SCOPED_TRACE("input " + std::to_string(k));
      ASSERT_TRUE(in[k].grad().defined());
      expect_close(in[k].grad(), from_json(c["grads"][k], in[k].sizes(), kCPU), 1e-9, 1e-12);
    }
  }
}

// Every case against float64 central differences (independent of PyTorch), and the double backward of the
// view cases through CopySlices and AsStridedBackward (create_graph).
TEST_P(ViewsInplace, Gradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const json& c : reference()["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    TensorList in;
    for (const json& i : c["inputs"])
      in.push_back(from_json(i["values"], i["shape"].get<Shape>(), dev()).requires_grad_());
    EXPECT_TRUE(autograd::gradcheck(cases().at(name), in));
  }
}

TEST_P(ViewsInplace, DoubleBackwardThroughCopySlices) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const char* name : {"view_of_view", "select_slice", "base_then_view", "two_views", "expand_after_base"}) {
    SCOPED_TRACE(name);
    const json* c = nullptr;
    for (const json& e : reference()["cases"])
      if (e["name"] == name) c = &e;
    ASSERT_NE(c, nullptr);
    TensorList in;
    for (const json& i : (*c)["inputs"])
      in.push_back(from_json(i["values"], i["shape"].get<Shape>(), dev()).requires_grad_());
    // The first derivative, built as a graph (also for gradcheck's finite differences, run in no-grad mode).
    auto first_grad = [&](const TensorList& in_x) {
      AutoGradMode on(true);
      TensorList x = in_x;
      for (Tensor& t : x)
        if (!t.requires_grad()) t = t.detach().requires_grad_();
      Tensor out = cases().at(name)(x);
      return autograd::grad({sum(out * out)}, {x[0]}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    };
    EXPECT_TRUE(autograd::gradcheck(first_grad, in));
  }
}

// The issue's example on integers, by hand: y = 2x; y[0] *= 3; rows 1-2 += 1; relu; d sum/dx = 6 | 2 | 2 where
// y > 0 (x[0][0] = 0 stays 0: relu's gradient there is 0, as in PyTorch).
TEST_P(ViewsInplace, IssueExampleAndNodeNames) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = arange(0, 12, 1, opts(kFloat64)).reshape({3, 4}).requires_grad_();
  Tensor y = x * 2.0;
  Tensor row = y[0];
  row.mul_(3);
  EXPECT_EQ(y.grad_fn()->name(), "CopySlices");
  EXPECT_EQ(row.grad_fn()->name(), "AsStridedBackward0");
  Tensor other = y[1];  // made after the write: a plain view of the new history
  EXPECT_EQ(other.grad_fn()->name(), "SelectBackward0");
  y.narrow(0, 1, 2).add_(1);
  EXPECT_EQ(other.grad_fn()->name(), "AsStridedBackward0");  // remade: its base was written since
  Tensor yt = y.t();
  relu_(yt);
  y.sum().backward();
  expect_values(x.grad(), {0, 6, 6, 6, 2, 2, 2, 2, 2, 2, 2, 2});
  expect_values(y, {0, 6, 12, 18, 9, 11, 13, 15, 17, 19, 21, 23});
}

// A view made before its base came to require grad joins the base's history when written (PyTorch 1.13 refuses
// this one; the gradient is well defined): d/dx of 1.5 * (x[0:2] | x[2]^2).
TEST_P(ViewsInplace, ViewMadeBeforeItsBaseRequiredGrad) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}).reshape({3, 2}).to(dev()).requires_grad_();
  Tensor y = zeros({3, 2}, opts(kFloat64));
  Tensor u = y[2];
  EXPECT_FALSE(u.requires_grad());
  y.narrow(0, 0, 2).add_(x.narrow(0, 0, 2));
  EXPECT_TRUE(y.requires_grad());
  EXPECT_TRUE(u.requires_grad());
  u.add_(x[2] * x[2]);
  (y * 1.5).sum().backward();
  expect_values(x.grad(), {1.5, 1.5, 1.5, 1.5, 15, 18});
}

// A view made before its base was made to require grad follows the base (as its requires_grad() says).
TEST_P(ViewsInplace, ViewOfLeafMadeToRequireGradLater) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor y = zeros({4}, opts(kFloat64));
  Tensor v = y.narrow(0, 1, 2);
  y.requires_grad_();
  EXPECT_TRUE(v.requires_grad());
  (v * 5.0).sum().backward();
  expect_values(y.grad(), {0, 5, 5, 0});
}

// An in-place op on the base, then the view: without replay the view's gradient would skip the multiplication.
TEST_P(ViewsInplace, BaseWrittenThenViewUsed) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4}).to(dev()).requires_grad_();
  Tensor y = x * 1.0;
  Tensor v = y.narrow(0, 1, 2);
  Tensor vv = v.unsqueeze(0);  // a view of a view
  y.mul_(x);                   // y = x^2
  (vv * 10.0).sum().backward();
  expect_values(x.grad(), {0, 40, 60, 0});
}

TEST_P(ViewsInplace, RefusedLikePyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor leaf = randn({3, 4}, opts(kFloat64)).requires_grad_();
  // A view of a leaf that requires grad.
  EXPECT_NE(message_of([&] { leaf[0].mul_(2); }).find("a view of a leaf tensor that requires grad"),
            std::string::npos);
  {
    NoGradGuard g;
    leaf[0].mul_(2);  // allowed without grad mode, as optimizers do
  }
  Tensor y = leaf * 2.0;
  // A view made in no-grad mode and written in grad mode, with or without an operand that requires grad.
  Tensor nv;
  {
    NoGradGuard g;
    nv = y.narrow(0, 0, 2);
  }
  EXPECT_NE(message_of([&] { nv.mul_(2); }).find("created in no-grad mode"), std::string::npos);
  Tensor plain = zeros({3, 4}, opts(kFloat64)), pv;
  {
    NoGradGuard g;
    pv = plain.narrow(0, 0, 2);
  }
  pv.add_(1);  // nothing requires grad: a plain write
  EXPECT_THROW(pv.add_(randn({2, 4}, opts(kFloat64)).requires_grad_()), AutogradError);
  // Pieces of split and chunk.
  auto pieces = split(y, 1, 0);
  EXPECT_NE(message_of([&] { pieces[1].mul_(2); }).find("output 1 of SplitBackward0 is a view"), std::string::npos);
  EXPECT_THROW(chunk(y, 3, 1)[0].add_(1), AutogradError);
  EXPECT_THROW(copy_(pieces[0], zeros({1, 4}, opts(kFloat64))), AutogradError);
  // ... also once their base was written: their history cannot be replayed.
  y.add_(1);
  EXPECT_NE(message_of([&] { sum(pieces[0]); }).find("its base or another view of its base has been modified"),
            std::string::npos);
  // An expanded view: several elements share one location.
  Tensor s = sum(y, {1}, true);
  Tensor e = s.expand({3, 4});
  EXPECT_THROW(e.mul_(2), ValueError);
  EXPECT_THROW(copy_(e, ones({3, 4}, opts(kFloat64))), ValueError);
  // Split pieces of a tensor that does not require grad are plain views.
  Tensor free = zeros({4}, opts(kFloat64));
  split(free, 2, 0)[1].fill_(3);
  expect_values(free, {0, 0, 3, 3});
}

// The version counter still catches a saved tensor changed through a view or its base (PyTorch errs alike).
TEST_P(ViewsInplace, VersionCounterStillFires) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = randn({3}, opts(kFloat64)).requires_grad_();
  {
    Tensor y = x * 2.0;
    Tensor z = sin(y.narrow(0, 0, 2));  // saves the view
    y.add_(1);
    EXPECT_THROW(z.sum().backward(), AutogradError);
  }
  {
    Tensor y = x * 2.0;
    Tensor v = y.narrow(0, 0, 2);
    relu_(v);  // saves its output, the view
    y.add_(1);
    EXPECT_NE(message_of([&] { y.sum().backward(); }).find("modified by an in-place operation"), std::string::npos);
  }
  {
    Tensor y = x * 2.0;
    Tensor v = y.narrow(0, 0, 1), w = y.narrow(0, 2, 1);
    v.mul_(w);  // w (another view of y) is saved, and the write bumps their shared version
    EXPECT_THROW(y.sum().backward(), AutogradError);
  }
}

// A graph through CopySlices is freed with its tensors even when no backward ran: nothing saved holds a view's
// base (a node saving u, a view of y, reached from y's CopySlices would otherwise keep itself alive).
TEST_P(ViewsInplace, GraphIsFreedWithoutBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  std::weak_ptr<autograd::Node> copy_slices;
  std::weak_ptr<TensorImpl> base;
  {
    Tensor x = randn({2, 3}, opts(kFloat64)).requires_grad_();
    Tensor y = x * 2.0;
    Tensor u = y[1];
    Tensor z = sin(u);  // saves u
    y[0].mul_(z);       // y's history now reaches sin's node
    copy_slices = y.grad_fn();
    base = y.impl_ptr();
    EXPECT_EQ(copy_slices.lock()->name(), "CopySlices");
  }
  EXPECT_TRUE(copy_slices.expired());
  EXPECT_TRUE(base.expired());
}

// The internal as_strided: values and gradient, including a stride-0 (expanded) geometry whose gradient sums.
TEST_P(ViewsInplace, AsStridedForwardAndBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = arange(0, 12, 1, opts(kFloat64)).reshape({3, 4}).t().requires_grad_();  // strides (1, 4)
  Tensor d = ops::as_strided(x, {2, 3}, {5, 0}, 1);  // elements 1 and 6 of storage, each repeated 3 times
  expect_values(d, {1, 1, 1, 6, 6, 6});
  (d * tensor(std::vector<double>{1, 2, 3, 4, 5, 6}).reshape({2, 3}).to(dev())).sum().backward();
  // x[i][j] sits at storage 4j + i: storage 1 is x[1][0], storage 6 is x[2][1].
  expect_values(x.grad(), {0, 0, 0, 6, 0, 0, 0, 15, 0, 0, 0, 0});
  // Row 1, columns 1-2 of x: storage 5 and 9.
  Tensor base = x.detach();
  Tensor g = ops::as_strided_backward(ones({2}, opts(kFloat64)), ops::ViewGeometry(base, base[1].narrow(0, 1, 2)));
  EXPECT_EQ(g.strides(), x.strides());  // laid out like the base
  expect_values(g.contiguous(), {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0});
}

// Tracking is cheap and off for non-floating views; a view of a view records its root base.
TEST(ViewsInplaceTracking, RootBaseAndCreation) {
  Tensor y = randn({2, 3}, TensorOptions().dtype(kFloat64));
  Tensor v = y.t()[1];
  auto* m = autograd::meta_if_exists(v);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->view);
  EXPECT_TRUE(m->view->base.is_same(y));
  EXPECT_EQ(m->view->creation, autograd::ViewCreation::Default);
  Tensor i = zeros({4}, TensorOptions().dtype(kInt64));
  EXPECT_EQ(autograd::meta_if_exists(i.narrow(0, 1, 2)), nullptr);
  NoGradGuard g;
  EXPECT_EQ(autograd::meta_if_exists(y.narrow(0, 0, 1))->view->creation, autograd::ViewCreation::NoGrad);
}
}  // namespace
}  // namespace kiln
