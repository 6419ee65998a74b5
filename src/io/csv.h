// Reads numeric CSV files into a row-major table of doubles.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::io {

/// How read_csv splits a file.
struct CsvOptions {
  char delimiter = ',';  ///< field separator; must not be '"', '\r' or '\n'
  bool header = true;    ///< whether the first line holds column names
};

/// A numeric table. values holds rows * cols numbers, row-major.
struct CsvTable {
  std::vector<std::string> columns;  ///< names from the header line; empty when options.header is false
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
};

/// Reads a numeric CSV file. Every data field must be, in full, a number as strtod reads it ("1", "-2.5e3", "nan",
/// "inf"); spaces, tabs and one pair of double quotes around a field are tolerated. LF or CRLF line ends, a UTF-8
/// byte order mark and blank lines at the end of the file are accepted. Every row must have as many fields as the
/// first line (the header when options.header is true).
/// Throws IOError naming the path, the 1-based line and column and what is wrong: missing file, empty file,
/// a non-numeric, empty or out-of-range field, a row with the wrong number of fields, an unterminated quote,
/// a blank line followed by more data.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace kiln::io
