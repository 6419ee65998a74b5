// Numeric CSV parsing: split lines into fields (with simple quoting), parse each with strtod, check row widths.
#include "io/csv.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kiln/core/error.h"

namespace kiln::io {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw IOError("CSV file '" + path + "': " + what);
}

[[noreturn]] void fail_at(const std::string& path, int64_t line, size_t col, const std::string& what) {
  fail(path, "line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + what);
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Splits one line at the delimiter. A field that starts (after blanks) with '"' runs to the closing quote, so
// a header name may contain the delimiter; "" inside quotes is a literal quote. Quotes are removed.
std::vector<std::string> split(const std::string& path, int64_t line_no, const std::string& line, char delim) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    size_t start = i;
    while (i < line.size() && is_space(line[i]) && line[i] != delim) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size())
          fail_at(path, line_no, fields.size() + 1, "unterminated quoted field (quoted newlines are not supported)");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && is_space(line[i]) && line[i] != delim) ++i;
      if (i < line.size() && line[i] != delim)
        fail_at(path, line_no, fields.size() + 1, "unexpected text after the closing quote");
      // Keep the quoted content verbatim: blanks inside quotes are part of a header name.
      fields.push_back(field);
    } else {
      size_t end = line.find(delim, start);
      if (end == std::string::npos) end = line.size();
      fields.push_back(trim(line.substr(start, end - start)));
      i = end;
    }
    if (i >= line.size()) break;
    ++i;  // skip the delimiter; a delimiter at the very end leaves one more, empty, field
    if (i == line.size()) {
      fields.emplace_back();
      break;
    }
  }
  return fields;
}

double parse_number(const std::string& path, int64_t line_no, size_t col, const std::string& raw) {
  std::string s = trim(raw);
  if (s.empty()) fail_at(path, line_no, col, "empty field (expected a number)");
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) fail_at(path, line_no, col, "'" + raw + "' is not a number");
  // ERANGE also flags underflow to a tiny value, which is still the right answer; only overflow is an error.
  if (errno == ERANGE && std::isinf(v)) fail_at(path, line_no, col, "'" + raw + "' is out of the range of a double");
  return v;
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  const char delim = options.delimiter;
  if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0')
    fail(path, "invalid delimiter (it must not be a quote, a line break or NUL)");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(path, "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, "read failed");
  std::string text = ss.str();
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 BOM, as Excel writes

  // Split into lines, dropping a trailing CR so CRLF files read like LF ones.
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    size_t end = nl;
    if (end > pos && text[end - 1] == '\r') --end;
    lines.push_back(text.substr(pos, end - pos));
    pos = nl + 1;
  }
  // Blank lines at the end are tolerated; a blank line in the middle means a broken file and is reported below.
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) fail(path, "file is empty (no header and no data)");

  CsvTable table;
  size_t first_data = 0;
  if (options.header) {
    table.columns = split(path, 1, lines[0], delim);
    table.cols = static_cast<int64_t>(table.columns.size());
    first_data = 1;
  } else {
    table.cols = static_cast<int64_t>(split(path, 1, lines[0], delim).size());
  }
  const size_t ncols = static_cast<size_t>(table.cols);
  // Every number takes at least one byte of the file, which bounds the reservation whatever the header claims.
  table.values.reserve(std::min((lines.size() - first_data) * ncols, text.size()));
  for (size_t li = first_data; li < lines.size(); ++li) {
    const int64_t line_no = static_cast<int64_t>(li) + 1;
    if (trim(lines[li]).empty()) fail_at(path, line_no, 1, "blank line in the middle of the data");
    std::vector<std::string> fields = split(path, line_no, lines[li], delim);
    if (fields.size() != ncols) {
      // Name the first column that is missing or extra, so the message points at the spot.
      size_t col = std::min(fields.size(), ncols) + 1;
      fail_at(path, line_no, col,
              "row has " + std::to_string(fields.size()) + " fields, expected " + std::to_string(ncols) +
                  (options.header ? " (the header's count)" : " (the first line's count)"));
    }
    for (size_t c = 0; c < ncols; ++c) table.values.push_back(parse_number(path, line_no, c + 1, fields[c]));
    ++table.rows;
  }
  return table;
}

}  // namespace kiln::io
