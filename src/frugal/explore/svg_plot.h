// Scatter and line plots as inline SVG text: the report's figures are drawn by frugal,
// with no plotting library and no network.
#pragma once

#include <string>
#include <vector>

namespace frugal::explore {

struct PlotPoint {
  double x = 0, y = 0;
  std::string tooltip;    // shown on hover (<title>)
  bool emphasized = false;  // on the Pareto front: drawn larger, outlined
  bool hollow = false;      // an estimated (not measured) figure
};

struct PlotSeries {
  std::string name;
  std::vector<PlotPoint> points;
  bool connect = false;  // join the points in x order
};

struct Plot {
  std::string id, title, x_label, y_label;
  bool log_x = false;
  std::vector<PlotSeries> series;
  std::vector<std::pair<double, double>> front;  // drawn as a step line, in x order
};

// "Nice" axis ticks covering [lo, hi]: 1, 2, 5 x 10^k steps (linear) or decades' 1, 2, 5 (log).
std::vector<double> axis_ticks(double lo, double hi, bool log_scale);
std::string format_tick(double v);

std::string render_svg(const Plot& plot);

std::string html_escape(const std::string& text);

}  // namespace frugal::explore
