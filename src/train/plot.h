// Line charts rendered into RGB images; the public write_training_plot (kiln/train/plot.h) is built on them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/png_writer.h"
#include "kiln/train/plot.h"

namespace kiln::train {

/// Colours write_training_plot uses (0xRRGGBB): blue for training, orange for validation.
constexpr uint32_t kTrainColor = 0x1F77B4;
constexpr uint32_t kValColor = 0xFF7F0E;

/// One line of a chart. x and y must have the same length; a point whose x or y is NaN or infinite is skipped
/// and breaks the line there. An empty series is left out of the chart and its legend.
struct Series {
  std::string label;
  std::vector<double> x, y;
  uint32_t rgb = kTrainColor;  ///< 0xRRGGBB
};

/// What render_chart draws. Text uses the built-in ASCII font; other characters show as '?'.
struct ChartSpec {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool integer_x = false;  ///< put x ticks only on whole numbers (for epochs)
};

/// Renders one chart: white background, framed plot area with grid lines, rounded tick values and labels,
/// axis labels, title, a legend above the plot, 2.5 px anti-aliased lines and a marker at every point (so a
/// single point shows). Axis ranges cover the finite data with a 5% margin; with no finite data the chart is
/// drawn empty with "no data". Requires width >= 200 and height >= 150 (ValueError otherwise) and x.size() ==
/// y.size() for every series (ShapeError otherwise).
io::Image render_chart(const ChartSpec& spec, int width, int height);

}  // namespace kiln::train
