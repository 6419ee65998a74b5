// Chart layout (margins, nice ticks, legend) and anti-aliased line drawing on top of io::Image.
#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kiln/core/error.h"
#include "train/bitmap_font.h"

namespace kiln::train {
namespace {

constexpr uint32_t kBackground = 0xFFFFFF, kFrame = 0x404040, kGrid = 0xE3E3E3, kText = 0x202020;
constexpr uint32_t kMuted = 0x909090;
constexpr int kScale = 2;          // font pixels are 2x2 image pixels: readable at a glance
constexpr int kPad = 14;           // blank border around the panel
constexpr int kTick = 5;           // tick mark length outside the frame
constexpr double kLineHalfWidth = 1.25;
constexpr double kMarkerRadius = 3.6;
constexpr int kMaxTicks = 40;      // guards the tick loop against degenerate ranges

struct Rect { int left, top, right, bottom; };  // inclusive pixel bounds

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;
};

// A step of 1, 2 or 5 times a power of ten near span / target, so tick labels stay short.
double nice_step(double span, int target) {
  const double raw = span / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

// Fixed notation with as many decimals as the step needs; very large or small values switch to %g with just
// enough significant digits to tell neighbouring ticks apart, since fixed notation would be too wide.
std::string format_tick(double v, double step, double max_abs) {
  char buf[48];
  const int step_exp = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  if (max_abs >= 1e6 || step_exp < -4) {
    const int digits = static_cast<int>(std::floor(std::log10(max_abs) + 1e-9)) - step_exp + 1;
    std::snprintf(buf, sizeof buf, "%.*g", std::min(15, std::max(1, digits)), v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -step_exp), v);
  }
  return buf;
}

// Axis limits span [lo, hi] (the finite data, lo > hi meaning none) with a 5% margin, so markers at the
// extremes are not cut by the frame; ticks are the multiples of a nice step inside the limits.
Axis make_axis(double lo, double hi, int target, bool integer) {
  Axis a;
  if (lo > hi) { lo = 0; hi = 1; }
  const double span = hi - lo;
  if (!(span > 1e-12 * std::max(std::abs(lo), std::abs(hi))) || !std::isfinite(span)) {
    const double pad = integer ? 1.0 : (lo != 0 ? std::abs(lo) * 0.1 : 1.0);
    a.lo = lo - pad;
    a.hi = hi + pad;
  } else {
    a.lo = lo - 0.05 * span;
    a.hi = hi + 0.05 * span;
  }
  double step = nice_step(a.hi - a.lo, target);
  if (integer) step = std::max(step, 1.0);
  if (!(step > 0) || !std::isfinite(step)) return a;
  const double first = std::ceil(a.lo / step);
  const double max_abs = std::max(std::abs(a.lo), std::abs(a.hi));
  for (int i = 0; i < kMaxTicks; ++i) {
    double t = (first + i) * step;  // multiply rather than accumulate, so 0.1 + 0.2 stays 0.3
    if (t > a.hi + 1e-9 * step) break;
    if (std::abs(t) < 1e-9 * step) t = 0;  // no "-0.0"
    a.ticks.push_back(t);
    a.labels.push_back(format_tick(t, step, max_abs));
  }
  return a;
}

int widest(const std::vector<std::string>& labels) {
  int w = 0;
  for (const auto& s : labels) w = std::max(w, text_width(s, kScale));
  return w;
}

// Per-pixel coverage of one series. Taking the maximum (not the sum) of stamped shapes keeps joints between
// segments from darkening where their anti-aliased edges overlap.
struct Coverage {
  Rect clip;
  int w;
  std::vector<float> a;
  explicit Coverage(Rect r)
      : clip(r), w(r.right - r.left + 1), a(static_cast<size_t>(w) * (r.bottom - r.top + 1), 0.f) {}

  // A capsule of radius half around segment (x0,y0)-(x1,y1); a zero-length segment stamps a disc.
  void stamp(double x0, double y0, double x1, double y1, double half) {
    const int xa = std::max(clip.left, static_cast<int>(std::floor(std::min(x0, x1) - half - 1)));
    const int xb = std::min(clip.right, static_cast<int>(std::ceil(std::max(x0, x1) + half + 1)));
    const int ya = std::max(clip.top, static_cast<int>(std::floor(std::min(y0, y1) - half - 1)));
    const int yb = std::min(clip.bottom, static_cast<int>(std::ceil(std::max(y0, y1) + half + 1)));
    const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = ya; y <= yb; ++y)
      for (int x = xa; x <= xb; ++x) {
        double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
        t = std::min(1.0, std::max(0.0, t));
        const double d = std::hypot(x - (x0 + t * dx), y - (y0 + t * dy));
        const float cov = static_cast<float>(std::min(1.0, std::max(0.0, half + 0.5 - d)));
        float& cell = a[static_cast<size_t>(y - clip.top) * w + (x - clip.left)];
        cell = std::max(cell, cov);
      }
  }

  void paint(io::Image& img, uint32_t rgb) const {
    for (int y = clip.top; y <= clip.bottom; ++y)
      for (int x = clip.left; x <= clip.right; ++x)
        img.blend(x, y, rgb, a[static_cast<size_t>(y - clip.top) * w + (x - clip.left)]);
  }
};

void fill_rect(io::Image& img, int x0, int y0, int x1, int y1, uint32_t rgb) {
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) img.set(x, y, rgb);
}

bool finite_point(const Series& s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

// A legend item is a short line sample with a marker, then the label.
constexpr int kSampleLen = 28, kSampleGap = 8, kItemGap = 24;
int legend_item_width(const Series& s) { return kSampleLen + kSampleGap + text_width(s.label, kScale); }

// Splits the legend into rows that fit max_w; returns, per row, the indices into items.
std::vector<std::vector<size_t>> legend_rows(const std::vector<const Series*>& items, int max_w) {
  std::vector<std::vector<size_t>> rows;
  int used = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const int w = legend_item_width(*items[i]);
    if (rows.empty() || used + kItemGap + w > max_w) {
      rows.push_back({});
      used = -kItemGap;
    }
    rows.back().push_back(i);
    used += kItemGap + w;
  }
  return rows;
}

void draw_legend_sample(io::Image& img, int x, int cy, uint32_t rgb) {
  Coverage cov({x - 4, cy - 6, x + kSampleLen + 4, cy + 6});
  cov.stamp(x, cy, x + kSampleLen, cy, kLineHalfWidth);
  cov.stamp(x + kSampleLen / 2.0, cy, x + kSampleLen / 2.0, cy, kMarkerRadius);
  cov.paint(img, rgb);
}

}  // namespace

io::Image render_chart(const ChartSpec& spec, int width, int height) {
  KILN_CHECK(width >= 200 && height >= 150, "render_chart: the image must be at least 200x150, got ", width, "x",
             height);
  std::vector<const Series*> shown;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : spec.series) {
    KILN_CHECK_SHAPE(s.x.size() == s.y.size(), "render_chart: series '", s.label, "' has ", s.x.size(),
                     " x values but ", s.y.size(), " y values");
    if (s.x.empty()) continue;
    shown.push_back(&s);
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite_point(s, i)) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  const bool has_data = x_lo <= x_hi;
  io::Image img(width, height, kBackground);
  const int th = text_height(kScale);

  // Vertical layout: title, legend rows, plot, tick labels, x label. The legend wraps to a fixed width rather
  // than the plot's, because the plot's width depends on the y tick labels, which depend on its height.
  const int legend_row_h = th + 6;
  const int legend_max_w = width - 2 * kPad - 100;
  const size_t n_legend_rows = legend_rows(shown, legend_max_w).size();
  const int top = kPad + th + 10 + static_cast<int>(n_legend_rows) * legend_row_h + 8;
  const int bottom = height - 1 - (kPad + th + 10 + th + kTick + 6);
  const Axis ya = make_axis(has_data ? y_lo : 1, has_data ? y_hi : 0,
                            std::min(8, std::max(3, (bottom - top) / 70)), false);
  const int left = kPad + th + 10 + widest(ya.labels) + 6 + kTick;
  const int right = width - 1 - kPad - 16;  // room for half of the last x tick label
  KILN_CHECK(right - left >= 40 && bottom - top >= 40, "render_chart: a ", width, "x", height,
             " image leaves no room for the plot");

  // Fewer x ticks until their labels no longer collide.
  Axis xa;
  for (int target = std::max(2, (right - left) / 80);; --target) {
    xa = make_axis(has_data ? x_lo : 1, has_data ? x_hi : 0, target, spec.integer_x);
    const double px_per_tick =
        xa.ticks.size() > 1 ? (right - left) * (xa.ticks[1] - xa.ticks[0]) / (xa.hi - xa.lo) : 1e9;
    if (target <= 2 || px_per_tick >= widest(xa.labels) + 16) break;
  }
  auto map_x = [&](double v) { return left + (v - xa.lo) / (xa.hi - xa.lo) * (right - left); };
  auto map_y = [&](double v) { return bottom - (v - ya.lo) / (ya.hi - ya.lo) * (bottom - top); };

  // Grid, frame, ticks and their labels.
  for (size_t i = 0; i < ya.ticks.size(); ++i) {
    const int y = static_cast<int>(std::lround(map_y(ya.ticks[i])));
    fill_rect(img, left + 1, y, right - 1, y, kGrid);
    fill_rect(img, left - kTick, y, left - 1, y, kFrame);
    const int lw = text_width(ya.labels[i], kScale);
    draw_text(img, left - kTick - 6 - lw, y - 7 * kScale / 2, ya.labels[i], kText, kScale);
  }
  for (size_t i = 0; i < xa.ticks.size(); ++i) {
    const int x = static_cast<int>(std::lround(map_x(xa.ticks[i])));
    fill_rect(img, x, top + 1, x, bottom - 1, kGrid);
    fill_rect(img, x, bottom + 1, x, bottom + kTick, kFrame);
    const int lw = text_width(xa.labels[i], kScale);
    draw_text(img, x - lw / 2, bottom + kTick + 6, xa.labels[i], kText, kScale);
  }
  fill_rect(img, left, top, right, top, kFrame);
  fill_rect(img, left, bottom, right, bottom, kFrame);
  fill_rect(img, left, top, left, bottom, kFrame);
  fill_rect(img, right, top, right, bottom, kFrame);

  // Title centred over the plot, axis labels centred on their axes.
  const int mid_x = (left + right) / 2;
  const int title_x = mid_x - (text_width(spec.title, kScale) + 1) / 2;
  for (int dx = 0; dx < 2; ++dx) draw_text(img, title_x + dx, kPad, spec.title, kText, kScale);  // bold
  draw_text(img, mid_x - text_width(spec.x_label, kScale) / 2, height - 1 - kPad - th, spec.x_label, kText,
            kScale);
  draw_text_up(img, kPad, (top + bottom) / 2 - text_width(spec.y_label, kScale) / 2, spec.y_label, kText, kScale);

  // Legend rows between the title and the plot, where they can never cover a line.
  int row_y = kPad + th + 10;
  for (const auto& row : legend_rows(shown, legend_max_w)) {
    int row_w = -kItemGap;
    for (size_t i : row) row_w += kItemGap + legend_item_width(*shown[i]);
    int x = mid_x - row_w / 2;
    for (size_t i : row) {
      const Series& s = *shown[i];
      draw_legend_sample(img, x, row_y + 7 * kScale / 2, s.rgb);
      draw_text(img, x + kSampleLen + kSampleGap, row_y, s.label, kText, kScale);
      x += kItemGap + legend_item_width(s);
    }
    row_y += legend_row_h;
  }

  if (!has_data) {
    const std::string msg = "no data";
    draw_text(img, mid_x - text_width(msg, kScale) / 2, (top + bottom) / 2 - th / 2, msg, kMuted, kScale);
    return img;
  }

  // Lines inside the frame; a non-finite point ends the current run, so gaps stay visible.
  // Markers shrink toward the line width as points crowd together, so a long run reads as a line, not a band.
  size_t most_points = 1;
  for (const Series* s : shown) most_points = std::max(most_points, s->x.size());
  const double spacing = (right - left) / std::max(1.0, static_cast<double>(most_points - 1));
  const double marker_r = std::min(kMarkerRadius, std::max(kLineHalfWidth + 0.6, 0.3 * spacing));
  const Rect inner{left + 1, top + 1, right - 1, bottom - 1};
  for (const Series* s : shown) {
    Coverage cov(inner);
    bool have_prev = false;
    double px = 0, py = 0;
    for (size_t i = 0; i < s->x.size(); ++i) {
      if (!finite_point(*s, i)) {
        have_prev = false;
        continue;
      }
      const double cx = map_x(s->x[i]), cy = map_y(s->y[i]);
      if (have_prev) cov.stamp(px, py, cx, cy, kLineHalfWidth);
      cov.stamp(cx, cy, cx, cy, marker_r);
      px = cx;
      py = cy;
      have_prev = true;
    }
    cov.paint(img, s->rgb);
  }
  return img;
}

void write_training_plot(const std::string& path, const std::vector<double>& train_loss,
                         const std::vector<double>& val_loss, const std::vector<double>& train_acc,
                         const std::vector<double>& val_acc) {
  constexpr int kPanelW = 600, kPanelH = 500;
  auto series = [](const char* label, const std::vector<double>& y, uint32_t rgb) {
    Series s{label, {}, y, rgb};
    for (size_t i = 0; i < y.size(); ++i) s.x.push_back(static_cast<double>(i + 1));  // epochs count from 1
    return s;
  };
  ChartSpec loss{"Loss", "epoch", "loss",
                 {series("train", train_loss, kTrainColor), series("validation", val_loss, kValColor)}, true};
  ChartSpec acc{"Accuracy", "epoch", "accuracy",
                {series("train", train_acc, kTrainColor), series("validation", val_acc, kValColor)}, true};
  const io::Image panels[2] = {render_chart(loss, kPanelW, kPanelH), render_chart(acc, kPanelW, kPanelH)};

  io::Image out(2 * kPanelW, kPanelH, kBackground);
  const size_t panel_row = static_cast<size_t>(kPanelW) * 3;
  for (int p = 0; p < 2; ++p)
    for (int y = 0; y < kPanelH; ++y)
      std::copy_n(&panels[p].rgb[panel_row * y], panel_row, &out.rgb[panel_row * (2 * y + p)]);
  io::write_png(path, out);
}

}  // namespace kiln::train
