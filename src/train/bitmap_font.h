// A built-in 5x7 pixel font (printable ASCII, with descenders) for labelling charts without a font library.
#pragma once
#include <cstdint>
#include <string>

#include "io/png_writer.h"

namespace kiln::train {

/// Glyph cell geometry in font pixels: 5 columns; 7 rows above the baseline plus 2 for descenders (g, j, p, q, y).
constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;
/// Horizontal distance from one character to the next, in font pixels (one blank column between glyphs).
constexpr int kGlyphAdvance = 6;

/// The kGlyphHeight row masks of character c, top row first; bit 4 is the leftmost column.
/// Characters outside printable ASCII (32..126) map to '?'.
const uint8_t* glyph_rows(char c);

/// Width in image pixels of s drawn at the given scale (each font pixel becomes scale x scale image pixels).
/// 0 for an empty string.
int text_width(const std::string& s, int scale);
/// Height in image pixels of a line of text at the given scale, descenders included.
int text_height(int scale);

/// Draws s left to right with its top-left corner at (x, y). Pixels outside img are skipped, so text may be clipped.
void draw_text(io::Image& img, int x, int y, const std::string& s, uint32_t rgb, int scale);
/// Draws s rotated 90 degrees counter-clockwise (read bottom to top, as on a y axis). (x, y) is the top-left
/// corner of its bounding box, which is text_height(scale) wide and text_width(s, scale) tall.
void draw_text_up(io::Image& img, int x, int y, const std::string& s, uint32_t rgb, int scale);

}  // namespace kiln::train
