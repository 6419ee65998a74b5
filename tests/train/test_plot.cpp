// Tests for the chart renderer and the training-curve PNG: colours land where the data says, NaN and 1-point input.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/png_writer.h"
#include "kiln/core/error.h"
#include "train/bitmap_font.h"
#include "train/plot.h"

namespace {

using kiln::io::Image;
using kiln::train::ChartSpec;
using kiln::train::Series;

constexpr uint32_t kRed = 0xD62728, kGreen = 0x2CA02C;

// Counts pixels of exactly colour rgb in the box [x0, x1) x [y0, y1).
int count(const Image& img, uint32_t rgb, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += img.get(x, y) == rgb;
  return n;
}
int count(const Image& img, uint32_t rgb) { return count(img, rgb, 0, 0, img.width, img.height); }

// Reads back a PNG that write_png produced (8-bit RGB, filter 0 on every row).
Image read_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<uint8_t> png{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  auto be32 = [&](size_t o) {
    return (uint32_t{png[o]} << 24) | (uint32_t{png[o + 1]} << 16) | (uint32_t{png[o + 2]} << 8) | png[o + 3];
  };
  Image img;
  std::vector<uint8_t> packed;
  for (size_t off = 8; off + 12 <= png.size();) {
    const uint32_t len = be32(off);
    const std::string type(png.begin() + off + 4, png.begin() + off + 8);
    if (type == "IHDR") img = Image(static_cast<int>(be32(off + 8)), static_cast<int>(be32(off + 12)));
    if (type == "IDAT") packed.insert(packed.end(), png.begin() + off + 8, png.begin() + off + 8 + len);
    off += 12 + len;
  }
  const size_t row = static_cast<size_t>(img.width) * 3;
  std::vector<uint8_t> raw((row + 1) * img.height);
  uLongf raw_len = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_len, packed.data(), packed.size()), Z_OK);
  for (int y = 0; y < img.height; ++y) std::copy_n(&raw[(row + 1) * y + 1], row, &img.rgb[row * y]);
  return img;
}

TEST(Plot, LineGoesWhereTheDataSays) {
  // y falls from 1 to 0 as x goes 0..10: the line starts top-left and ends bottom-right.
  ChartSpec spec{"Falling", "x", "y", {Series{"down", {}, {}, kRed}}};
  for (int i = 0; i <= 10; ++i) {
    spec.series[0].x.push_back(i);
    spec.series[0].y.push_back(1.0 - i / 10.0);
  }
  const Image img = render_chart(spec, 600, 400);
  ASSERT_EQ(img.width, 600);
  ASSERT_EQ(img.height, 400);
  EXPECT_EQ(img.get(0, 0), 0xFFFFFFu);
  EXPECT_EQ(img.get(599, 399), 0xFFFFFFu);

  // Locate the line's pixels below the legend (which also holds a red sample near the top).
  int min_x = 600, max_x = -1, y_at_min = 0, y_at_max = 0;
  for (int y = 90; y < 400; ++y)
    for (int x = 0; x < 600; ++x)
      if (img.get(x, y) == kRed) {
        if (x < min_x) min_x = x, y_at_min = y;
        if (x > max_x) max_x = x, y_at_max = y;
      }
  ASSERT_GE(max_x, 0) << "the series colour never appears";
  EXPECT_GT(max_x - min_x, 350) << "the line should span most of the plot width";
  EXPECT_LT(y_at_min + 150, y_at_max) << "the left end should sit well above the right end";
  EXPECT_GT(count(img, kRed), 800) << "a 2.5 px line with markers covers many pixels";
  // The legend sample sits between the title and the plot.
  EXPECT_GT(count(img, kRed, 0, 30, 600, 70), 20);
}

TEST(Plot, TwoSeriesBothAppear) {
  ChartSpec spec{"Two", "epoch", "loss",
                 {Series{"a", {1, 2, 3}, {3, 2, 1}, kRed}, Series{"b", {1, 2, 3}, {1, 2, 3}, kGreen}}, true};
  const Image img = render_chart(spec, 400, 300);
  EXPECT_GT(count(img, kRed), 100);
  EXPECT_GT(count(img, kGreen), 100);
}

TEST(Plot, TextIsDrawn) {
  ChartSpec spec{"TITLE", "", "", {}};
  const Image img = render_chart(spec, 400, 300);
  // The bold title is dark text centred near the top.
  EXPECT_GT(count(img, 0x202020, 100, 0, 300, 40), 50);
}

TEST(Plot, NanAndInfAreSkipped) {
  ChartSpec spec{"Gaps", "x", "y", {Series{"gappy", {0, 1, 2, 3, 4}, {1, NAN, 2, INFINITY, 3}, kRed}}};
  Image img;
  ASSERT_NO_THROW(img = render_chart(spec, 400, 300));
  EXPECT_GT(count(img, kRed, 0, 90, 400, 300), 30);

  // A series with no finite value draws only its legend entry; the axes fall back to a default range.
  ChartSpec none{"All NaN", "x", "y", {Series{"nan", {0, 1}, {NAN, -INFINITY}, kGreen}}};
  ASSERT_NO_THROW(img = render_chart(none, 400, 300));
  EXPECT_GT(count(img, kGreen, 0, 0, 400, 80), 0);
  EXPECT_EQ(count(img, kGreen, 0, 90, 400, 300), 0);
}

TEST(Plot, SinglePointShowsAsMarker) {
  ChartSpec spec{"One", "epoch", "loss", {Series{"one", {1}, {0.5}, kRed}}, true};
  const Image img = render_chart(spec, 400, 300);
  // The marker is centred in the plot area (the axes are padded symmetrically around a single value).
  long sx = 0, sy = 0, n = 0;
  for (int y = 90; y < 300; ++y)
    for (int x = 0; x < 400; ++x)
      if (img.get(x, y) == kRed) sx += x, sy += y, ++n;
  ASSERT_GT(n, 10);
  EXPECT_NEAR(static_cast<double>(sx) / n, 230, 40);  // the plot spans roughly x 60..385
  EXPECT_NEAR(static_cast<double>(sy) / n, 165, 40);  // and y 80..240
}

TEST(Plot, BadInputThrows) {
  ChartSpec spec{"Bad", "x", "y", {Series{"mismatch", {1, 2}, {1}, kRed}}};
  EXPECT_THROW(render_chart(spec, 400, 300), kiln::ShapeError);
  EXPECT_THROW(render_chart(ChartSpec{}, 100, 100), kiln::ValueError);
}

TEST(Plot, TrainingPlotHasBothPanels) {
  const std::string path = ::testing::TempDir() + "kiln_plot_" + std::to_string(getpid()) + ".png";
  kiln::train::write_training_plot(path, {2.0, 1.2, 0.8, NAN, 0.5}, {}, {0.3, 0.6, 0.7, 0.8, 0.85}, {});
  const Image img = read_png(path);
  std::remove(path.c_str());
  ASSERT_EQ(img.width, 1200);
  ASSERT_EQ(img.height, 500);
  EXPECT_GT(count(img, kiln::train::kTrainColor, 0, 0, 600, 500), 200) << "loss panel";
  EXPECT_GT(count(img, kiln::train::kTrainColor, 600, 0, 1200, 500), 200) << "accuracy panel";
  EXPECT_EQ(count(img, kiln::train::kValColor), 0) << "empty validation series are skipped";
}

TEST(Plot, TrainingPlotSingleEpochWithValidation) {
  const std::string path = ::testing::TempDir() + "kiln_plot1_" + std::to_string(getpid()) + ".png";
  kiln::train::write_training_plot(path, {0.7}, {0.8}, {0.5}, {0.45});
  const Image img = read_png(path);
  std::remove(path.c_str());
  // Each lone point is a marker of about 8 px across; its fully covered core is well over 10 pixels.
  EXPECT_GT(count(img, kiln::train::kTrainColor, 0, 90, 600, 500), 10);
  EXPECT_GT(count(img, kiln::train::kValColor, 0, 90, 600, 500), 10);
  EXPECT_GT(count(img, kiln::train::kValColor, 600, 90, 1200, 500), 10);
}

TEST(BitmapFont, MetricsAndCoverage) {
  using namespace kiln::train;
  EXPECT_EQ(text_width("", 2), 0);
  EXPECT_EQ(text_width("ab", 2), (2 * kGlyphAdvance - 1) * 2);
  EXPECT_EQ(text_height(2), kGlyphHeight * 2);
  const std::string needed = "0123456789.,-+:()/%_ABCXYZabcxyz";
  for (char c : needed) {
    const uint8_t* rows = glyph_rows(c);
    int lit = 0;
    for (int r = 0; r < kGlyphHeight; ++r) lit += rows[r] != 0;
    EXPECT_GT(lit, 0) << "glyph '" << c << "' is blank";
  }
  EXPECT_EQ(glyph_rows('\x01'), glyph_rows('?'));
  Image img(40, 20);
  draw_text(img, 1, 1, "Hi", 0x000000, 2);
  EXPECT_GT(count(img, 0x000000), 20);
}

}  // namespace
