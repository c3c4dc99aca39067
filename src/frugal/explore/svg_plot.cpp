#include "frugal/explore/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace frugal::explore {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                         "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> axis_ticks(double lo, double hi, bool log_scale) {
  std::vector<double> ticks;
  if (!(hi >= lo) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  if (log_scale) {
    if (lo <= 0) return ticks;
    int k0 = static_cast<int>(std::floor(std::log10(lo))), k1 = static_cast<int>(std::ceil(std::log10(hi)));
    for (int k = k0; k <= k1; ++k)
      for (double m : {1.0, 2.0, 5.0}) {
        double v = m * std::pow(10.0, k);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
      }
    if (ticks.size() > 9) {  // only the decades when the range is wide
      std::vector<double> decades;
      for (double v : ticks)
        if (std::abs(std::log10(v) - std::round(std::log10(v))) < 1e-9) decades.push_back(v);
      ticks = decades;
    }
    return ticks;
  }
  double span = hi - lo;
  if (span <= 0) span = std::abs(hi) > 0 ? std::abs(hi) : 1;
  double raw = span / 5;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double m = 10;
  for (double c : {1.0, 2.0, 5.0, 10.0})
    if (c * mag >= raw) {
      m = c;
      break;
    }
  double step = m * mag;
  // Tick k is k*m units of `mag`; dividing by 10^j (not multiplying by 10^-j) gives the
  // double nearest to 0.6, not 0.6000000000000001.
  double inverse = mag < 1 ? std::round(1 / mag) : 0;
  for (int64_t k = static_cast<int64_t>(std::ceil(lo / step - 1e-9)); k <= static_cast<int64_t>(std::floor(hi / step + 1e-9)); ++k) {
    double units = static_cast<double>(k) * m;
    ticks.push_back(inverse > 0 ? units / inverse : units * mag);
  }
  return ticks;
}

std::string format_tick(double v) {
  char buf[32];
  double a = std::abs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) std::snprintf(buf, sizeof buf, "%.0e", v);
  else std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string render_svg(const Plot& plot) {
  const double W = 560, H = 360, L = 70, R = 150, T = 30, B = 50;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  size_t n = 0;
  for (const auto& s : plot.series)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || (plot.log_x && p.x <= 0)) continue;
      xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
      ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
      ++n;
    }
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" id=\"" + html_escape(plot.id) +
                    "\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\" width=\"" + num(W) + "\" height=\"" +
                    num(H) + "\" role=\"img\" aria-label=\"" + html_escape(plot.title) + "\">\n";
  svg += "<text x=\"" + num(L) + "\" y=\"18\" class=\"title\">" + html_escape(plot.title) + "</text>\n";
  if (n == 0) {
    svg += "<text x=\"" + num(W / 2) + "\" y=\"" + num(H / 2) +
           "\" text-anchor=\"middle\" class=\"empty\">no data for this figure</text>\n</svg>\n";
    return svg;
  }
  // Pad the ranges so that points do not sit on the frame.
  if (plot.log_x) {
    xmin /= 1.25, xmax *= 1.25;
  } else {
    double px = xmax > xmin ? (xmax - xmin) * 0.06 : std::max(std::abs(xmax) * 0.1, 0.5);
    xmin -= px, xmax += px;
  }
  double py = ymax > ymin ? (ymax - ymin) * 0.08 : std::max(std::abs(ymax) * 0.1, 0.01);
  ymin -= py, ymax += py;
  auto X = [&](double x) {
    double t = plot.log_x ? (std::log(x) - std::log(xmin)) / (std::log(xmax) - std::log(xmin)) : (x - xmin) / (xmax - xmin);
    return L + t * (W - L - R);
  };
  auto Y = [&](double y) { return H - B - (y - ymin) / (ymax - ymin) * (H - T - B); };

  svg += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(W - L - R) + "\" height=\"" +
         num(H - T - B) + "\" class=\"frame\"/>\n";
  for (double v : axis_ticks(xmin, xmax, plot.log_x))
    svg += "<line x1=\"" + num(X(v)) + "\" x2=\"" + num(X(v)) + "\" y1=\"" + num(T) + "\" y2=\"" + num(H - B) +
           "\" class=\"grid\"/><text x=\"" + num(X(v)) + "\" y=\"" + num(H - B + 16) +
           "\" text-anchor=\"middle\" class=\"tick\">" + format_tick(v) + "</text>\n";
  for (double v : axis_ticks(ymin, ymax, false))
    svg += "<line x1=\"" + num(L) + "\" x2=\"" + num(W - R) + "\" y1=\"" + num(Y(v)) + "\" y2=\"" + num(Y(v)) +
           "\" class=\"grid\"/><text x=\"" + num(L - 6) + "\" y=\"" + num(Y(v) + 4) +
           "\" text-anchor=\"end\" class=\"tick\">" + format_tick(v) + "</text>\n";
  svg += "<text x=\"" + num(L + (W - L - R) / 2) + "\" y=\"" + num(H - 12) + "\" text-anchor=\"middle\" class=\"label\">" +
         html_escape(plot.x_label) + (plot.log_x ? " (log scale)" : "") + "</text>\n";
  svg += "<text transform=\"translate(16," + num(T + (H - T - B) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" class=\"label\">" + html_escape(plot.y_label) + "</text>\n";

  if (plot.front.size() > 0) {
    auto f = plot.front;
    std::sort(f.begin(), f.end());
    std::string d;
    for (size_t i = 0; i < f.size(); ++i) {
      if (plot.log_x && f[i].first <= 0) continue;
      d += (d.empty() ? "M" : " L") + num(X(f[i].first)) + "," + num(Y(f[i].second));
    }
    svg += "<path d=\"" + d + "\" class=\"front\"/>\n";
  }
  for (size_t si = 0; si < plot.series.size(); ++si) {
    const auto& s = plot.series[si];
    std::string color = kColors[si % std::size(kColors)];
    if (s.connect && s.points.size() > 1) {
      auto pts = s.points;
      std::sort(pts.begin(), pts.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
      std::string d;
      for (const auto& p : pts) d += (d.empty() ? "M" : " L") + num(X(p.x)) + "," + num(Y(p.y));
      svg += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>\n";
    }
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || (plot.log_x && p.x <= 0)) continue;
      svg += "<circle class=\"pt" + std::string(p.emphasized ? " onfront" : "") + "\" cx=\"" + num(X(p.x)) +
             "\" cy=\"" + num(Y(p.y)) + "\" r=\"" + (p.emphasized ? "6" : "4") + "\" fill=\"" +
             (p.hollow ? "white" : color) + "\" stroke=\"" + (p.emphasized ? "black" : color) +
             "\" stroke-width=\"" + (p.emphasized || p.hollow ? "2" : "1") + "\"><title>" +
             html_escape(p.tooltip) + "</title></circle>\n";
    }
    double ly = T + 12 + 16 * static_cast<double>(si);
    if (ly < H - B)
      svg += "<circle cx=\"" + num(W - R + 14) + "\" cy=\"" + num(ly - 4) + "\" r=\"4\" fill=\"" + color +
             "\"/><text x=\"" + num(W - R + 24) + "\" y=\"" + num(ly) + "\" class=\"legend\">" +
             html_escape(s.name.size() > 22 ? s.name.substr(0, 21) + "~" : s.name) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace frugal::explore
